# peerlearn en français. Les mêmes clés que en.ftl (un test le vérifie).
# Pages des enfants (join-, chat-, err-, avatar-, js-join-, js-chat-) : phrases courtes, mots
# de tous les jours, « tu ». Pages de l'enseignant (dash-, js-dash-) : « vous ».

## Shared

app-name = PeerLearn
lang-menu-label = Langue
lang-menu-apply = Changer

## The join page

join-page-title = Rejoindre ton groupe · PeerLearn
join-title = Bonjour ! Viens rejoindre ton groupe
join-welcome-back-label = Bon retour
join-welcome-back = Bon retour, { $name } !
join-go-back = Retourner au chat de mon groupe
join-other-group = Ou rejoins un autre groupe avec le formulaire ci-dessous.
join-code-label = Code du groupe
join-code-hint = Il est sur la carte que ton enseignant t'a donnée, par exemple { $example }.
join-nickname-label = Pseudo
join-nickname-hint = N'utilise pas ton vrai nom ! Invente un pseudo rigolo ({ $max } lettres au maximum).
join-avatar-legend = Choisis ton animal
join-button = Rejoindre mon groupe
join-privacy = Pas besoin de compte ni d'e-mail. Ton enseignant peut lire le chat.

avatar-fox = Renard
avatar-panda = Panda
avatar-frog = Grenouille
avatar-lion = Lion
avatar-octopus = Pieuvre
avatar-owl = Hibou
avatar-turtle = Tortue
avatar-bee = Abeille
avatar-unicorn = Licorne
avatar-dolphin = Dauphin
avatar-koala = Koala
avatar-penguin = Manchot
avatar-animal = Animal

js-join-need-code = Tape le code du groupe écrit sur ta carte.
js-join-need-nickname = Tape un pseudo. N'utilise pas ton vrai nom !
js-join-need-animal = Choisis un des animaux.
js-join-joining = Un instant…
js-join-button = Rejoindre mon groupe

## The chat page

chat-page-title = { $group } · Chat PeerLearn
chat-default-activity = Notre défi
chat-skip = Aller à la zone de message
chat-you-are = Tu es
chat-help-button = J'ai besoin d'aide
chat-help-title = Demander de l'aide à ton enseignant
chat-help-private = Seul ton enseignant verra ce message. Ton groupe ne le verra pas.
chat-help-note-label = Tu veux dire quelque chose à ton enseignant ? (Tu peux laisser vide.)
chat-help-send = Prévenir mon enseignant
chat-cancel = Annuler
chat-phase-label = Ce qu'on fait maintenant
chat-getting-ready = On se prépare…
chat-our-challenge = Notre défi
chat-reconnecting = Reconnexion… Tes messages sont en sécurité.
chat-people-title = Qui est là
chat-messages-title = Messages du chat
chat-new-messages = Nouveaux messages ↓
chat-your-message = Ton message
chat-placeholder = Écris ton idée…
chat-send = Envoyer
chat-composer-help = Appuie sur Entrée pour envoyer. Appuie sur Maj et Entrée pour aller à la ligne.
chat-needs-js = Ce chat a besoin de JavaScript. Demande de l'aide à ton enseignant.

js-chat-error-bad-request = Oups, il y a eu un problème. Réessaie.
js-chat-error-unsupported-version = Cette page n'est plus à jour. Recharge-la.
js-chat-error-message-too-long = Ce message est trop long. Utilise { $max } lettres au maximum.
js-chat-error-empty-message = Écris d'abord quelque chose !
js-chat-error-rate-limited = Doucement : tu pourras renvoyer un message dans quelques secondes.
js-chat-error-muted = Ton enseignant a mis tes messages en pause pour un petit moment.
js-chat-error-session-closed = Le chat est fermé pour l'instant. Attends ton enseignant.
js-chat-error-unauthorized = Tu dois rejoindre ton groupe à nouveau.
js-chat-error-internal = Il y a eu un problème chez nous. Nous allons réessayer.
js-chat-send-again-in = Doucement : tu pourras renvoyer un message dans { $seconds ->
    [one] une seconde.
   *[other] { $seconds } secondes.
}
js-chat-ai-helper = Assistant IA
js-chat-teacher = Enseignant
js-chat-someone = Quelqu'un
js-chat-you = { $name } (toi)
js-chat-says = { $name } dit : { $text }
js-chat-says-badge = { $name } ({ $badge }) dit : { $text }
js-chat-status-queued = en attente de connexion…
js-chat-status-sending = envoi…
js-chat-status-waiting = un instant…
js-chat-status-not-saved = pas encore enregistré, on réessaie…
js-chat-online = ({ $count } en ligne)
js-chat-typing-one = { $name } écrit…
js-chat-typing-two = { $first } et { $second } écrivent…
js-chat-typing-many = { $count } amis écrivent…
js-chat-thinking = { $name } réfléchit…
js-chat-now = Maintenant : { $phase }. { $goal }
js-chat-ended = Ce chat est terminé. Merci !
js-chat-paused-moment = Petite pause
js-chat-waiting-start = On attend que ton enseignant commence
js-chat-work-together = Travaillons ensemble !
js-chat-say-hello = Tu peux déjà dire bonjour !
js-chat-part = Partie { $index } sur { $count }
js-chat-phase-paused = { $phase } (en pause)
js-chat-time-left = encore { $time }
js-chat-time-up = Le temps est écoulé !
js-chat-not-known = Ce chat ne te reconnaît plus. Rejoins ton groupe à nouveau.
js-chat-join-again = Rejoindre à nouveau
js-chat-reconnecting = Reconnexion… Tes messages sont en sécurité.
js-chat-teacher-paused-chat = Ton enseignant a mis le chat en pause pour un moment.
js-chat-only-you-see = Seuls toi et ton enseignant pouvez voir ce message.
js-chat-muted-for = Ton enseignant a mis tes messages en pause pour { $minutes ->
    [one] une minute.
   *[other] { $minutes } minutes.
} Tu peux continuer à lire le chat.
js-chat-write-again = Tu peux de nouveau écrire.
js-chat-help-new = Ton enseignant sait que tu as besoin d'aide. Il va bientôt venir te voir.
js-chat-help-seen = Ton enseignant a vu que tu as besoin d'aide et va venir te voir.
js-chat-help-dealt-with = Ton enseignant s'est occupé de ta demande. Tu peux redemander de l'aide quand tu veux.
js-chat-help-note-too-long = Ton message est un peu long : garde-le sous { $max } lettres.
js-chat-help-offline = Nous préviendrons ton enseignant dès que le chat sera revenu.

## What the server tells a child (joining, the chat, the help button)

err-unknown-code = Nous n'avons trouvé aucun groupe avec ce code. Vérifie le code sur ta carte et réessaie.
err-nickname-taken = Quelqu'un de ton groupe utilise déjà ce pseudo. Choisis-en un autre.
err-bad-avatar = Choisis un des animaux.
err-group-locked = Ce groupe n'accepte plus de nouveaux membres. Demande à ton enseignant.
err-group-full = Ce groupe est complet. Demande à ton enseignant quel groupe rejoindre.
err-cross-site = Ouvre cette page avec le lien de ton enseignant et réessaie.
err-incomplete-form = Remplis le code, un pseudo et choisis un animal.
err-something-wrong = Il y a eu un problème chez nous. Réessaie dans un instant.
err-too-many-tries = Trop d'essais. Attends { $minutes ->
    [one] une minute
   *[other] { $minutes } minutes
} et réessaie.
err-nickname-empty = Tape un pseudo.
err-nickname-no-letters = Utilise des lettres ou des chiffres dans ton pseudo.
err-nickname-forbidden-characters = Utilise seulement des lettres, des chiffres et des espaces dans ton pseudo.
err-nickname-too-long = Ce pseudo est un peu long. Utilise { $max } lettres au maximum.
err-nickname-is-the-agents = { $name } est le nom de l'assistant IA. Choisis un autre pseudo.
err-chat-ended-page = Ce chat est terminé. Merci d'avoir participé ! Pour en rejoindre un nouveau, tape le code que ton enseignant te donne.
err-chat-ended = Ce chat est terminé. Merci d'avoir participé !
err-join-again = Rejoins ton groupe à nouveau depuis la page d'accueil.
err-too-many-tabs = Ce chat est ouvert dans trop d'onglets. Ferme les autres.
err-slow-down = Doucement, s'il te plaît.
err-will-send-again = Il y a eu un problème chez nous ; ton message sera renvoyé.
err-not-your-group = Ce n'est pas ton groupe.
err-message-empty = Ton message est vide.
err-muted = Ton enseignant a mis tes messages en pause pour un petit moment.
err-message-too-long = Ton message est trop long : garde-le sous { $max } lettres.
err-session-paused = La séance est en pause, tu ne peux pas envoyer de message pour l'instant.
err-session-over = La séance est terminée, tu ne peux plus envoyer de message.
err-send-again-in = Doucement : tu pourras renvoyer un message dans { $seconds ->
    [one] une seconde.
   *[other] { $seconds } secondes.
}
err-help-again-in = Ton enseignant sait déjà que tu as besoin d'aide. Tu pourras redemander dans { $seconds ->
    [one] une seconde.
   *[other] { $seconds } secondes.
}
err-help-note-too-long = Ton message est un peu long : garde-le sous { $max } lettres.
err-help-session-over = La séance est terminée, ton enseignant ne recevra pas ce message ici. Va le voir directement.
err-help-not-sent = Il y a eu un problème chez nous et ton enseignant n'a pas été prévenu. Réessaie.

## The facilitator's pages

dash-brand = PeerLearn · Enseignant
dash-title-suffix = PeerLearn enseignant
dash-signed-in-as = Connecté en tant que { $name }
dash-all-sessions = Toutes les séances
dash-sign-out = Se déconnecter
dash-cancel = Annuler

dash-login-page-title = Connexion · PeerLearn enseignant
dash-login-title = Connexion enseignant
dash-login-name = Nom
dash-login-password = Mot de passe
dash-login-button = Se connecter
dash-login-hint = Les comptes sont créés sur le serveur avec { $command }.
dash-login-cross-site = Veuillez ouvrir la page de connexion sur ce serveur et réessayer.
dash-login-fill-in = Veuillez saisir votre nom et votre mot de passe.
dash-login-throttled = Trop de tentatives de connexion échouées. Veuillez attendre { $minutes ->
    [one] une minute
   *[other] { $minutes } minutes
} et réessayer.
dash-login-busy = Le serveur est occupé. Veuillez réessayer dans un instant.
dash-login-wrong = Ce nom et ce mot de passe ne correspondent pas.
dash-something-wrong = Un problème est survenu de notre côté. Veuillez réessayer.

dash-sessions-page-title = Séances · PeerLearn enseignant
dash-sessions-title = Vos séances
dash-no-sessions = Aucune séance pour l'instant : créez-en une ci-dessous.
dash-col-activity = Activité
dash-col-groups = Groupes
dash-col-status = État
dash-col-created = Créée le
dash-new-session = Nouvelle séance
dash-activity = Activité
dash-groups = Nombre de groupes
dash-roles-legend = Le rôle de l'agent dans chaque groupe
dash-group-n = Groupe { $index }
dash-role-moderator = modérateur
dash-role-participant = participant
dash-role-none = aucun (groupe témoin)
dash-agent-name = Le nom de l'agent
dash-language = Langue
dash-agent-role = Le rôle de l'agent
dash-childrens-data = Données des enfants
dash-kept-then-deleted = conservées { $kept }, puis supprimées
dash-mild-words = Mots légers (« zut », « mince »)
dash-level-strict = strict : retenus pour que vous les lisiez
dash-level-standard = standard : affichés masqués (m***e)
dash-level-relaxed = souple : affichés tels quels
dash-level-hint = Les données personnelles sont toujours cachées au groupe, et les insultes, les menaces et les messages inquiétants vous sont toujours réservés, à tous les niveaux.
dash-phase-minutes = Minutes par phase (facultatif, une par phase, séparées par des virgules)
dash-retention = Conserver les données des enfants pendant (jours après la fin de la séance)
dash-create = Créer la séance
dash-form-groups = Le nombre de groupes doit être compris entre 1 et { $max }.
dash-form-role = Groupe { $index } : le rôle de l'agent doit être modérateur, participant ou aucun.
dash-form-retention = Conservez les données de 1 à { $max } jours après la fin de la séance.
dash-form-activity = Veuillez choisir une activité.
dash-form-agent-name = Le nom de l'agent doit compter de 1 à { $max } caractères.
dash-form-safety-level = Mots légers : choisissez strict, standard ou souple.
dash-form-language = Veuillez choisir la langue de la séance.
dash-form-phase-minutes = Minutes par phase : indiquez { $count } nombres entiers de 1 à { $max }, séparés par des virgules (un par phase de « { $activity } »), ou laissez vide pour garder celles de l'activité.

dash-status-created = créée
dash-status-running = en cours
dash-status-paused = en pause
dash-status-ended = terminée

dash-session-label = séance { $id } · agent { $agent }
dash-session-page-title = { $title } · Séance { $id } · PeerLearn enseignant
dash-status = État :
dash-connecting = connexion…
dash-start = Démarrer
dash-pause = Pause
dash-resume = Reprendre
dash-end = Terminer
dash-end-confirm = Terminer la séance pour tous les groupes ? Les enfants ne pourront plus écrire.
dash-join-cards = Cartes d'accès
dash-downloads = Télécharger les transcriptions
dash-dl-csv = CSV (tableur)
dash-dl-qdpx = REFI-QDA .qdpx (NVivo, ATLAS.ti, MAXQDA, QualCoder)
dash-dl-jsonl = JSON Lines
dash-dl-txt = Script en texte brut
dash-dl-qdc = Livre de codes .qdc
dash-dl-participation = Participation par groupe (CSV)
dash-dl-participation-speakers = Participation par enfant (CSV)
dash-dl-agreement = Accord inter-codeurs (JSON)
dash-dl-safety = Bilan de sécurité (JSON ; mots d'origine des enfants, pour vous seul)
dash-dl-consent = Consentements (CSV)
dash-delete = Supprimer…
dash-needs-you = À traiter maintenant
dash-groups-label = Groupes
dash-data-title = Données des enfants
dash-retention-text = Les données de cette séance sont conservées { $kept }, puis supprimées.
dash-consent = Consentement
dash-no-consent = Aucun consentement enregistré pour l'instant.
dash-consent-kind = Type
dash-consent-given-on = Donné le
dash-consent-note-col = Note
dash-consent-recorded-by = Enregistré par
dash-consent-recorded = Enregistré le
dash-consent-whose = Consentement de qui
dash-consent-school = école
dash-consent-parents = parents
dash-consent-child-assent = assentiment de l'enfant
dash-consent-other = autre
dash-consent-note = Note (ce qui a été accepté, où sont les formulaires ; pas de noms d'enfants)
dash-consent-add = Enregistrer le consentement
dash-kept-ended = jusqu'au { $date } ({ $days ->
    [one] un jour
   *[other] { $days } jours
} après sa fin)
dash-kept-open = jusqu'à { $days ->
    [one] un jour
   *[other] { $days } jours
} après la fin de la séance (ou après son dernier message, si elle n'est jamais terminée)
dash-recorded-by-cli = ligne de commande

dash-group-page-title = { $group } · { $title } · PeerLearn enseignant
dash-back-to-groups = Retour à tous les groupes
dash-code-label = { $title } · code { $code }
dash-transcript = Transcription
dash-codes = Codes
dash-codes-hint = Appliquez des codes aux messages de la transcription ; vous codez en tant que { $coder }.
dash-new-code = Nouveau code, p. ex. reprend une idée
dash-colour = Couleur
dash-add = Ajouter
dash-import-codebook = Importer un livre de codes (.qdc ou CSV) :
dash-decisions = Les décisions de l'agent

dash-cards-page-title = Cartes d'accès · séance { $id }
dash-cards-back = Retour à la séance
dash-cards-print = Imprimez cette page : une carte par groupe.
dash-card-open = Ouvre { $address }
dash-card-type-code = et tape le code
dash-card-hint = Invente un pseudo : pas ton vrai nom !

dash-delete-page-title = Supprimer la séance { $id } · PeerLearn enseignant
dash-delete-title = Supprimer la séance { $id } ({ $title }) ?
dash-delete-body = Cela supprime définitivement tout ce que contient la séance : { $messages ->
    [one] { $messagesShown } message
   *[other] { $messagesShown } messages
}, { $children ->
    [one] { $childrenShown } enfant (pseudo, avatar, clé de connexion)
   *[other] { $childrenShown } enfants (pseudos, avatars, clés de connexion)
}, le journal de l'agent, les alertes, le livre de codes avec { $codings ->
    [one] { $codingsShown } codage
   *[other] { $codingsShown } codages
}, et { $consents ->
    [one] { $consentsShown } consentement
   *[other] { $consentsShown } consentements
}. Téléchargez d'abord ce dont vous avez encore besoin. Le journal d'audit garde la trace de cette suppression.
dash-delete-not-ended = La séance n'est pas terminée (état : { $status }) : elle sera d'abord terminée, et tous ses enfants seront déconnectés.
dash-delete-confirm = Supprimer définitivement la séance { $id }

js-dash-screen-redact = données personnelles cachées au groupe
js-dash-screen-hold = retenu, non montré au groupe
js-dash-screen-urgent = protection de l'enfance : non montré au groupe
js-dash-done = Fait.
js-dash-refused = Refusé ({ $status }).
js-dash-unreachable = Le serveur est injoignable.
js-dash-agent-role = Le rôle de l'agent
js-dash-role-moderator = modérateur
js-dash-role-participant = participant
js-dash-role-none = aucun
js-dash-role-control = aucun (groupe témoin)
js-dash-next-phase = Phase suivante
js-dash-extend = +2 min
js-dash-whisper = Souffler
js-dash-whisper-label = Consigne pour l'agent (les enfants ne la voient jamais)
js-dash-post = Publier
js-dash-post-label = Écrire au groupe en tant qu'enseignant
js-dash-resume-agent = Reprendre l'agent
js-dash-pause-agent = Mettre l'agent en pause
js-dash-unlock = Rouvrir l'accès
js-dash-lock = Fermer l'accès
js-dash-locked-title = Aucun nouvel enfant ne peut rejoindre ce groupe
js-dash-lock-title = Empêcher de nouveaux enfants de rejoindre ce groupe
js-dash-child-bar = { $name } : { $messages ->
    [one] { $messages } message
   *[other] { $messages } messages
}, { $words ->
    [one] { $words } mot
   *[other] { $words } mots
}
js-dash-nobody = Personne n'a encore rejoint le groupe
js-dash-all-phases-done = Toutes les phases sont terminées
js-dash-waiting-start = En attente du démarrage
js-dash-not-started = Pas commencé
js-dash-phase-left = { $index }. { $phase } : encore { $time }
js-dash-no-agent = Pas d'agent (groupe témoin)
js-dash-last-reply = dernière réponse après { $seconds } s
js-dash-agent-line = { $agent } ({ $role }) : { $state }
js-dash-agent-paused = en pause
js-dash-written = écrit : « { $text } »
js-dash-hidden = caché au groupe
js-dash-show = Afficher
js-dash-hide = Cacher
js-dash-remove-code = Retirer ce code
js-dash-coded-by = Codé par { $coder }
js-dash-apply-code = Appliquer un code
js-dash-add-code = + code
js-dash-delete = Supprimer
js-dash-delete-code-confirm = Supprimer « { $name } » et { $count ->
    [one] son codage
   *[other] ses { $count } codages
} ?
js-dash-imported = Importé : { $created } nouveaux, { $updated } mis à jour.
js-dash-open-transcript = Ouvrir la transcription
js-dash-recent-messages = Messages récents de { $group }
js-dash-hidden-details = { $count ->
    [one] { $count } donnée cachée
   *[other] { $count } données cachées
}
js-dash-held = { $count ->
    [one] { $count } retenu
   *[other] { $count } retenus
}
js-dash-urgent = { $count ->
    [one] { $count } urgent
   *[other] { $count } urgents
}
js-dash-online = { $online } sur { $total } en ligne
js-dash-safety = sécurité : { $list }
js-dash-children = Enfants
js-dash-unmute = Rendre la parole à { $name }
js-dash-mute = Rendre { $name } muet 5 min
js-dash-seen = VU
js-dash-new = NOUVEAU
js-dash-urgent-label = URGENT :
js-dash-show-to-group = Montrer au groupe
js-dash-keep-hidden = Garder caché
js-dash-mark-seen = Vu
js-dash-dealt-with = Traité
js-dash-live = en direct
js-dash-reconnecting = reconnexion…
js-dash-status-created = créée
js-dash-status-running = en cours
js-dash-status-paused = en pause
js-dash-status-ended = terminée
js-dash-activity-own = { $minutes } (celles de l'activité)
