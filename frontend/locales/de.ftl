# peerlearn auf Deutsch. Dieselben Schlüssel wie en.ftl (ein Test prüft das).
# Kinderseiten (join-, chat-, err-, avatar-, js-join-, js-chat-): kurze Sätze, Alltagswörter,
# "du". Lehrkräfte-Seiten (dash-, js-dash-): sachlich, "Sie".

## Shared

app-name = PeerLearn
lang-menu-label = Sprache
lang-menu-apply = Wechseln

## The join page

join-page-title = Deiner Gruppe beitreten · PeerLearn
join-title = Hallo! Komm in deine Gruppe
join-welcome-back-label = Willkommen zurück
join-welcome-back = Willkommen zurück, { $name }!
join-go-back = Zurück zu meinem Gruppen-Chat
join-other-group = Oder tritt mit dem Formular unten einer anderen Gruppe bei.
join-code-label = Gruppen-Code
join-code-hint = Er steht auf der Karte von deiner Lehrerin oder deinem Lehrer, zum Beispiel { $example }.
join-nickname-label = Spitzname
join-nickname-hint = Nimm nicht deinen echten Namen! Denk dir einen lustigen Spitznamen aus (höchstens { $max } Buchstaben).
join-avatar-legend = Such dir ein Tier aus
join-button = In meine Gruppe
join-privacy = Du brauchst kein Konto und keine E-Mail. Deine Lehrerin oder dein Lehrer kann den Chat lesen.

avatar-fox = Fuchs
avatar-panda = Panda
avatar-frog = Frosch
avatar-lion = Löwe
avatar-octopus = Krake
avatar-owl = Eule
avatar-turtle = Schildkröte
avatar-bee = Biene
avatar-unicorn = Einhorn
avatar-dolphin = Delfin
avatar-koala = Koala
avatar-penguin = Pinguin
avatar-animal = Tier

js-join-need-code = Bitte tippe den Gruppen-Code von deiner Karte ein.
js-join-need-nickname = Bitte tippe einen Spitznamen ein. Nimm nicht deinen echten Namen!
js-join-need-animal = Bitte such dir eins der Tiere aus.
js-join-joining = Einen Moment…
js-join-button = In meine Gruppe

## The chat page

chat-page-title = { $group } · PeerLearn-Chat
chat-default-activity = Unsere Aufgabe
chat-skip = Zum Nachrichtenfeld springen
chat-you-are = Du bist
chat-help-button = Ich brauche Hilfe
chat-help-title = Bitte um Hilfe
chat-help-private = Das sieht nur deine Lehrerin oder dein Lehrer. Deine Gruppe sieht es nicht.
chat-help-note-label = Möchtest du etwas dazu schreiben? (Du kannst das Feld auch leer lassen.)
chat-help-send = Bescheid sagen
chat-cancel = Abbrechen
chat-phase-label = Was wir gerade machen
chat-getting-ready = Gleich geht es los…
chat-our-challenge = Unsere Aufgabe
chat-reconnecting = Verbindung wird wiederhergestellt… Deine Nachrichten sind sicher.
chat-people-title = Wer ist da
chat-messages-title = Chat-Nachrichten
chat-new-messages = Neue Nachrichten ↓
chat-your-message = Deine Nachricht
chat-placeholder = Schreib deine Idee…
chat-send = Senden
chat-composer-help = Drück die Eingabetaste zum Senden. Drück Umschalt und Eingabe für eine neue Zeile.
chat-needs-js = Dieser Chat braucht JavaScript. Bitte frag deine Lehrerin oder deinen Lehrer.

js-chat-error-bad-request = Hoppla, da ist etwas schiefgegangen. Bitte versuch es noch einmal.
js-chat-error-unsupported-version = Diese Seite ist veraltet. Bitte lade sie neu.
js-chat-error-message-too-long = Diese Nachricht ist zu lang. Bitte nimm höchstens { $max } Buchstaben.
js-chat-error-empty-message = Schreib zuerst etwas!
js-chat-error-rate-limited = Etwas langsamer, bitte: In ein paar Sekunden kannst du wieder senden.
js-chat-error-muted = Deine Lehrerin oder dein Lehrer hat deine Nachrichten kurz angehalten.
js-chat-error-session-closed = Der Chat ist gerade geschlossen. Warte auf deine Lehrerin oder deinen Lehrer.
js-chat-error-unauthorized = Du musst deiner Gruppe noch einmal beitreten.
js-chat-error-internal = Bei uns ist etwas schiefgegangen. Wir versuchen es noch einmal.
js-chat-send-again-in = Etwas langsamer, bitte: Du kannst in { $seconds ->
    [one] einer Sekunde
   *[other] { $seconds } Sekunden
} wieder senden.
js-chat-ai-helper = KI-Helfer
js-chat-teacher = Lehrkraft
js-chat-someone = Jemand
js-chat-you = { $name } (du)
js-chat-says = { $name } sagt: { $text }
js-chat-says-badge = { $name } ({ $badge }) sagt: { $text }
js-chat-status-queued = wartet auf die Verbindung…
js-chat-status-sending = wird gesendet…
js-chat-status-waiting = einen Moment…
js-chat-status-not-saved = noch nicht gespeichert, wir versuchen es weiter…
js-chat-online = ({ $count } online)
js-chat-typing-one = { $name } schreibt…
js-chat-typing-two = { $first } und { $second } schreiben…
js-chat-typing-many = { $count } Kinder schreiben…
js-chat-thinking = { $name } denkt nach…
js-chat-now = Jetzt: { $phase }. { $goal }
js-chat-ended = Dieser Chat ist vorbei. Danke!
js-chat-paused-moment = Kurze Pause
js-chat-waiting-start = Warte, bis deine Lehrerin oder dein Lehrer startet
js-chat-work-together = Los geht's, gemeinsam!
js-chat-say-hello = Du kannst schon Hallo sagen!
js-chat-part = Teil { $index } von { $count }
js-chat-phase-paused = { $phase } (Pause)
js-chat-time-left = noch { $time }
js-chat-time-up = Die Zeit ist um!
js-chat-not-known = Dieser Chat kennt dich nicht mehr. Bitte tritt deiner Gruppe noch einmal bei.
js-chat-join-again = Noch einmal beitreten
js-chat-reconnecting = Verbindung wird wiederhergestellt… Deine Nachrichten sind sicher.
js-chat-teacher-paused-chat = Deine Lehrerin oder dein Lehrer hat den Chat kurz angehalten.
js-chat-only-you-see = Das sehen nur du und deine Lehrerin oder dein Lehrer.
js-chat-muted-for = Deine Lehrerin oder dein Lehrer hat deine Nachrichten für { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} angehalten. Du kannst den Chat weiter lesen.
js-chat-write-again = Du kannst wieder schreiben.
js-chat-help-new = Deine Lehrerin oder dein Lehrer weiß, dass du Hilfe brauchst, und kommt gleich zu dir.
js-chat-help-seen = Deine Lehrerin oder dein Lehrer hat gesehen, dass du Hilfe brauchst, und kommt zu dir.
js-chat-help-dealt-with = Deine Lehrerin oder dein Lehrer hat sich darum gekümmert. Du kannst jederzeit wieder um Hilfe bitten.
js-chat-help-note-too-long = Dein Text ist etwas lang: Bitte nimm weniger als { $max } Buchstaben.
js-chat-help-offline = Wir sagen deiner Lehrerin oder deinem Lehrer Bescheid, sobald der Chat wieder da ist.

## What the server tells a child (joining, the chat, the help button)

err-unknown-code = Wir haben keine Gruppe mit diesem Code gefunden. Schau noch einmal auf deine Karte und versuch es wieder.
err-nickname-taken = Jemand in deiner Gruppe hat diesen Spitznamen schon. Bitte such dir einen anderen aus.
err-bad-avatar = Bitte such dir eins der Tiere aus.
err-group-locked = Diese Gruppe nimmt gerade niemanden mehr auf. Bitte frag deine Lehrerin oder deinen Lehrer.
err-group-full = Diese Gruppe ist voll. Bitte frag deine Lehrerin oder deinen Lehrer, in welche Gruppe du gehen sollst.
err-cross-site = Bitte öffne diese Seite über den Link von deiner Lehrerin oder deinem Lehrer und versuch es noch einmal.
err-incomplete-form = Bitte gib den Code und einen Spitznamen ein und such dir ein Tier aus.
err-something-wrong = Bei uns ist etwas schiefgegangen. Bitte versuch es gleich noch einmal.
err-too-many-tries = Zu viele Versuche. Bitte warte { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} und versuch es dann noch einmal.
err-nickname-empty = Bitte tippe einen Spitznamen ein.
err-nickname-no-letters = Bitte nimm Buchstaben oder Zahlen für deinen Spitznamen.
err-nickname-forbidden-characters = Bitte nimm für deinen Spitznamen nur Buchstaben, Zahlen und Leerzeichen.
err-nickname-too-long = Dieser Spitzname ist etwas lang. Bitte nimm höchstens { $max } Buchstaben.
err-nickname-is-the-agents = { $name } ist der Name des KI-Helfers. Bitte such dir einen anderen Spitznamen aus.
err-chat-ended-page = Dieser Chat ist vorbei. Danke, dass du mitgemacht hast! Für einen neuen Chat tippst du den Code ein, den du von deiner Lehrerin oder deinem Lehrer bekommst.
err-chat-ended = Dieser Chat ist vorbei. Danke, dass du mitgemacht hast!
err-join-again = Bitte tritt deiner Gruppe noch einmal über die Startseite bei.
err-too-many-tabs = Dieser Chat ist in zu vielen Tabs offen. Bitte schließ die anderen.
err-slow-down = Etwas langsamer, bitte.
err-will-send-again = Bei uns ist etwas schiefgegangen. Deine Nachricht wird noch einmal gesendet.
err-not-your-group = Das ist nicht deine Gruppe.
err-message-empty = Deine Nachricht ist leer.
err-muted = Deine Lehrerin oder dein Lehrer hat deine Nachrichten kurz angehalten.
err-message-too-long = Deine Nachricht ist zu lang: Bitte nimm weniger als { $max } Buchstaben.
err-session-paused = Die Stunde ist gerade pausiert. Deshalb kannst du im Moment keine Nachrichten senden.
err-session-over = Die Stunde ist vorbei. Deshalb kannst du keine Nachrichten mehr senden.
err-send-again-in = Etwas langsamer, bitte: Du kannst in { $seconds ->
    [one] einer Sekunde
   *[other] { $seconds } Sekunden
} wieder senden.
err-help-again-in = Deine Lehrerin oder dein Lehrer weiß schon, dass du Hilfe brauchst. Du kannst in { $seconds ->
    [one] einer Sekunde
   *[other] { $seconds } Sekunden
} wieder fragen.
err-help-note-too-long = Dein Text ist etwas lang: Bitte nimm weniger als { $max } Buchstaben.
err-help-session-over = Die Stunde ist vorbei, deshalb kommt das hier nicht mehr an. Bitte frag deine Lehrerin oder deinen Lehrer direkt.
err-help-not-sent = Bei uns ist etwas schiefgegangen, deine Lehrerin oder dein Lehrer weiß noch nichts davon. Bitte versuch es noch einmal.

## The facilitator's pages

dash-brand = PeerLearn · Lehrkräfte
dash-title-suffix = PeerLearn für Lehrkräfte
dash-signed-in-as = Angemeldet als { $name }
dash-all-sessions = Alle Sitzungen
dash-sign-out = Abmelden
dash-cancel = Abbrechen

dash-login-page-title = Anmelden · PeerLearn für Lehrkräfte
dash-login-title = Anmeldung für Lehrkräfte
dash-login-name = Name
dash-login-password = Passwort
dash-login-button = Anmelden
dash-login-hint = Konten werden auf dem Server angelegt, mit { $command }.
dash-login-cross-site = Bitte öffnen Sie die Anmeldeseite auf diesem Server und versuchen Sie es erneut.
dash-login-fill-in = Bitte geben Sie Ihren Namen und Ihr Passwort ein.
dash-login-throttled = Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} und versuchen Sie es dann erneut.
dash-login-busy = Der Server ist ausgelastet. Bitte versuchen Sie es gleich noch einmal.
dash-login-wrong = Name und Passwort passen nicht zusammen.
dash-something-wrong = Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es erneut.

dash-sessions-page-title = Sitzungen · PeerLearn für Lehrkräfte
dash-sessions-title = Ihre Sitzungen
dash-no-sessions = Noch keine Sitzungen: Legen Sie unten eine an.
dash-col-activity = Aufgabe
dash-col-groups = Gruppen
dash-col-status = Status
dash-col-created = Angelegt
dash-new-session = Neue Sitzung
dash-activity = Aufgabe
dash-groups = Anzahl der Gruppen
dash-roles-legend = Die Rolle des Agenten in jeder Gruppe
dash-group-n = Gruppe { $index }
dash-role-moderator = Moderator
dash-role-participant = Teilnehmer
dash-role-none = keiner (Kontrollgruppe)
dash-agent-name = Name des Agenten
dash-language = Sprache
dash-agent-role = Die Rolle des Agenten
dash-childrens-data = Daten der Kinder
dash-kept-then-deleted = aufbewahrt { $kept }, dann gelöscht
dash-mild-words = Milde Wörter („Mist“, „verdammt“)
dash-level-strict = streng: für Sie zurückgehalten
dash-level-standard = normal: maskiert gezeigt (v******t)
dash-level-relaxed = locker: gezeigt wie geschrieben
dash-level-hint = Persönliche Angaben werden vor der Gruppe immer verborgen, und Beleidigungen, Drohungen und besorgniserregende Nachrichten werden auf jeder Stufe immer für Sie zurückgehalten.
dash-phase-minutes = Minuten je Phase (optional, eine Zahl pro Phase, durch Kommas getrennt)
dash-retention = Daten der Kinder aufbewahren für (Tage nach dem Ende der Sitzung)
dash-create = Sitzung anlegen
dash-form-groups = Die Anzahl der Gruppen muss zwischen 1 und { $max } liegen.
dash-form-role = Gruppe { $index }: Die Rolle des Agenten muss Moderator, Teilnehmer oder keiner sein.
dash-form-retention = Bewahren Sie die Daten 1 bis { $max } Tage nach dem Ende der Sitzung auf.
dash-form-activity = Bitte wählen Sie eine Aufgabe.
dash-form-agent-name = Der Name des Agenten muss 1 bis { $max } Zeichen lang sein.
dash-form-safety-level = Milde Wörter: Wählen Sie streng, normal oder locker.
dash-form-language = Bitte wählen Sie die Sprache der Sitzung.
dash-form-phase-minutes = Minuten je Phase: Geben Sie { $count } ganze Zahlen von 1 bis { $max } an, durch Kommas getrennt (eine je Phase von „{ $activity }“), oder lassen Sie das Feld leer für die Vorgabe der Aufgabe.

dash-status-created = angelegt
dash-status-running = läuft
dash-status-paused = pausiert
dash-status-ended = beendet

dash-session-label = Sitzung { $id } · Agent { $agent }
dash-session-page-title = { $title } · Sitzung { $id } · PeerLearn für Lehrkräfte
dash-status = Status:
dash-connecting = verbinde…
dash-start = Starten
dash-pause = Pausieren
dash-resume = Fortsetzen
dash-end = Beenden
dash-end-confirm = Die Sitzung für alle Gruppen beenden? Die Kinder können dann nicht mehr schreiben.
dash-join-cards = Beitrittskarten
dash-downloads = Transkripte herunterladen
dash-dl-csv = CSV (Tabellenkalkulation)
dash-dl-qdpx = REFI-QDA .qdpx (NVivo, ATLAS.ti, MAXQDA, QualCoder)
dash-dl-jsonl = JSON Lines
dash-dl-txt = Skript als reiner Text
dash-dl-qdc = Codebuch .qdc
dash-dl-participation = Beteiligung je Gruppe (CSV)
dash-dl-participation-speakers = Beteiligung je Kind (CSV)
dash-dl-agreement = Übereinstimmung der Codierenden (JSON)
dash-dl-safety = Sicherheitsübersicht (JSON; Originalwörter der Kinder, nur für Sie)
dash-dl-consent = Einwilligungen (CSV)
dash-delete = Löschen…
dash-needs-you = Braucht Sie jetzt
dash-groups-label = Gruppen
dash-data-title = Daten der Kinder
dash-retention-text = Die Daten dieser Sitzung werden { $kept } aufbewahrt und dann gelöscht.
dash-consent = Einwilligung
dash-no-consent = Noch keine Einwilligung erfasst.
dash-consent-kind = Art
dash-consent-given-on = Erteilt am
dash-consent-note-col = Notiz
dash-consent-recorded-by = Erfasst von
dash-consent-recorded = Erfasst
dash-consent-whose = Wessen Einwilligung
dash-consent-school = Schule
dash-consent-parents = Eltern
dash-consent-child-assent = Zustimmung des Kindes
dash-consent-other = andere
dash-consent-note = Notiz (wozu eingewilligt wurde, wo die Formulare liegen; keine Namen von Kindern)
dash-consent-add = Einwilligung erfassen
dash-kept-ended = bis { $date } ({ $days ->
    [one] einen Tag
   *[other] { $days } Tage
} nach ihrem Ende)
dash-kept-open = bis { $days ->
    [one] einen Tag
   *[other] { $days } Tage
} nach dem Ende der Sitzung (oder nach ihrer letzten Nachricht, falls sie nie beendet wird)
dash-recorded-by-cli = Kommandozeile

dash-group-page-title = { $group } · { $title } · PeerLearn für Lehrkräfte
dash-back-to-groups = Zurück zu allen Gruppen
dash-code-label = { $title } · Code { $code }
dash-transcript = Transkript
dash-codes = Codes
dash-codes-hint = Vergeben Sie Codes für Nachrichten im Transkript; Sie codieren als { $coder }.
dash-new-code = Neuer Code, z. B. greift eine Idee auf
dash-colour = Farbe
dash-add = Hinzufügen
dash-import-codebook = Codebuch importieren (.qdc oder CSV):
dash-decisions = Die Entscheidungen des Agenten

dash-cards-page-title = Beitrittskarten · Sitzung { $id }
dash-cards-back = Zurück zur Sitzung
dash-cards-print = Drucken Sie diese Seite: eine Karte pro Gruppe.
dash-card-open = Öffne { $address }
dash-card-type-code = und tippe den Code ein
dash-card-hint = Denk dir einen Spitznamen aus, nicht deinen echten Namen!

dash-delete-page-title = Sitzung { $id } löschen · PeerLearn für Lehrkräfte
dash-delete-title = Sitzung { $id } ({ $title }) löschen?
dash-delete-body = Das löscht endgültig alles, was zur Sitzung gehört: { $messages ->
    [one] { $messagesShown } Nachricht
   *[other] { $messagesShown } Nachrichten
}, { $children ->
    [one] { $childrenShown } Kind (Spitzname, Avatar, Anmeldeschlüssel)
   *[other] { $childrenShown } Kinder (Spitznamen, Avatare, Anmeldeschlüssel)
}, das Protokoll des Agenten, die Hinweise, das Codebuch mit { $codings ->
    [one] { $codingsShown } Codierung
   *[other] { $codingsShown } Codierungen
} und { $consents ->
    [one] { $consentsShown } Einwilligung
   *[other] { $consentsShown } Einwilligungen
}. Laden Sie vorher herunter, was Sie noch brauchen. Das Audit-Protokoll hält fest, dass Sie gelöscht haben.
dash-delete-not-ended = Diese Sitzung ist noch nicht beendet (Status: { $status }). Sie wird zuerst beendet, und alle Kinder darin werden abgemeldet.
dash-delete-confirm = Sitzung { $id } endgültig löschen

js-dash-screen-redact = persönliche Angaben vor der Gruppe verborgen
js-dash-screen-hold = vor der Gruppe zurückgehalten
js-dash-screen-urgent = Kinderschutz: der Gruppe nicht gezeigt
js-dash-done = Erledigt.
js-dash-refused = Abgelehnt ({ $status }).
js-dash-unreachable = Der Server ist nicht erreichbar.
js-dash-agent-role = Die Rolle des Agenten
js-dash-role-moderator = Moderator
js-dash-role-participant = Teilnehmer
js-dash-role-none = keiner
js-dash-role-control = keiner (Kontrollgruppe)
js-dash-next-phase = Nächste Phase
js-dash-extend = +2 Min.
js-dash-whisper = Flüstern
js-dash-whisper-label = Hinweis für den Agenten (die Kinder sehen ihn nie)
js-dash-post = Senden
js-dash-post-label = Als Lehrkraft an die Gruppe schreiben
js-dash-resume-agent = Agent fortsetzen
js-dash-pause-agent = Agent pausieren
js-dash-unlock = Beitritt öffnen
js-dash-lock = Beitritt sperren
js-dash-locked-title = Neue Kinder können dieser Gruppe nicht beitreten
js-dash-lock-title = Keine neuen Kinder mehr in diese Gruppe lassen
js-dash-child-bar = { $name }: { $messages ->
    [one] { $messages } Nachricht
   *[other] { $messages } Nachrichten
}, { $words ->
    [one] { $words } Wort
   *[other] { $words } Wörter
}
js-dash-nobody = Noch niemand beigetreten
js-dash-all-phases-done = Alle Phasen fertig
js-dash-waiting-start = Wartet auf den Start
js-dash-not-started = Nicht gestartet
js-dash-phase-left = { $index }. { $phase }: noch { $time }
js-dash-no-agent = Kein Agent (Kontrollgruppe)
js-dash-last-reply = letzte Antwort nach { $seconds } s
js-dash-agent-line = { $agent } ({ $role }): { $state }
js-dash-agent-paused = pausiert
js-dash-written = geschrieben: „{ $text }“
js-dash-hidden = vor der Gruppe verborgen
js-dash-show = Zeigen
js-dash-hide = Verbergen
js-dash-remove-code = Diesen Code entfernen
js-dash-coded-by = Codiert von { $coder }
js-dash-apply-code = Einen Code vergeben
js-dash-add-code = + Code
js-dash-delete = Löschen
js-dash-delete-code-confirm = „{ $name }“ und { $count ->
    [one] seine Codierung
   *[other] seine { $count } Codierungen
} löschen?
js-dash-imported = Importiert: { $created } neu, { $updated } aktualisiert.
js-dash-open-transcript = Transkript öffnen
js-dash-recent-messages = Neueste Nachrichten von { $group }
js-dash-hidden-details = { $count ->
    [one] 1 verborgene Angabe
   *[other] { $count } verborgene Angaben
}
js-dash-held = { $count } zurückgehalten
js-dash-urgent = { $count } dringend
js-dash-online = { $online } von { $total } online
js-dash-safety = Sicherheit: { $list }
js-dash-children = Kinder
js-dash-unmute = { $name } wieder schreiben lassen
js-dash-mute = { $name } für 5 Min. stummschalten
js-dash-seen = GESEHEN
js-dash-new = NEU
js-dash-urgent-label = DRINGEND:
js-dash-show-to-group = Der Gruppe zeigen
js-dash-keep-hidden = Verborgen lassen
js-dash-mark-seen = Gesehen
js-dash-dealt-with = Erledigt
js-dash-live = live
js-dash-reconnecting = verbinde neu…
js-dash-status-created = angelegt
js-dash-status-running = läuft
js-dash-status-paused = pausiert
js-dash-status-ended = beendet
js-dash-activity-own = { $minutes } (Vorgabe der Aufgabe)
