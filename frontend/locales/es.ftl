# peerlearn en español. Las mismas claves que en.ftl (un test lo comprueba).
# Páginas de los niños (join-, chat-, err-, avatar-, js-join-, js-chat-): frases cortas,
# palabras de todos los días, «tú». Páginas del docente (dash-, js-dash-): «usted».

## Shared

app-name = PeerLearn
lang-menu-label = Idioma
lang-menu-apply = Cambiar

## The join page

join-page-title = Únete a tu grupo · PeerLearn
join-title = ¡Hola! Vamos a entrar en tu grupo
join-welcome-back-label = Bienvenido de nuevo
join-welcome-back = ¡Hola otra vez, { $name }!
join-go-back = Volver al chat de mi grupo
join-other-group = O entra en otro grupo con el formulario de abajo.
join-code-label = Código del grupo
join-code-hint = Está en la tarjeta que te dio tu profe, por ejemplo { $example }.
join-nickname-label = Apodo
join-nickname-hint = ¡No uses tu nombre de verdad! Inventa un apodo divertido (como mucho { $max } letras).
join-avatar-legend = Elige tu animal
join-button = Entrar en mi grupo
join-privacy = No necesitas cuenta ni correo. Tu profe puede leer el chat.

avatar-fox = Zorro
avatar-panda = Panda
avatar-frog = Rana
avatar-lion = León
avatar-octopus = Pulpo
avatar-owl = Búho
avatar-turtle = Tortuga
avatar-bee = Abeja
avatar-unicorn = Unicornio
avatar-dolphin = Delfín
avatar-koala = Koala
avatar-penguin = Pingüino
avatar-animal = Animal

js-join-need-code = Escribe el código del grupo que está en tu tarjeta.
js-join-need-nickname = Escribe un apodo. ¡No uses tu nombre de verdad!
js-join-need-animal = Elige uno de los animales.
js-join-joining = Entrando…
js-join-button = Entrar en mi grupo

## The chat page

chat-page-title = { $group } · Chat de PeerLearn
chat-default-activity = Nuestro reto
chat-skip = Ir al cuadro de mensaje
chat-you-are = Eres
chat-help-button = Necesito ayuda
chat-help-title = Pide ayuda a tu profe
chat-help-private = Solo tu profe verá esto. Tu grupo no lo verá.
chat-help-note-label = ¿Quieres contarle algo a tu profe? (Puedes dejarlo vacío.)
chat-help-send = Avisar a mi profe
chat-cancel = Cancelar
chat-phase-label = Lo que estamos haciendo ahora
chat-getting-ready = Preparándonos…
chat-our-challenge = Nuestro reto
chat-reconnecting = Volviendo a conectar… Tus mensajes están a salvo.
chat-people-title = Quién está aquí
chat-messages-title = Mensajes del chat
chat-new-messages = Mensajes nuevos ↓
chat-your-message = Tu mensaje
chat-placeholder = Escribe tu idea…
chat-send = Enviar
chat-composer-help = Pulsa Intro para enviar. Pulsa Mayúsculas e Intro para una línea nueva.
chat-needs-js = Este chat necesita JavaScript. Pide ayuda a tu profe.

js-chat-error-bad-request = Ups, algo ha salido mal. Inténtalo otra vez.
js-chat-error-unsupported-version = Esta página está anticuada. Vuelve a cargarla.
js-chat-error-message-too-long = Ese mensaje es demasiado largo. Usa como mucho { $max } letras.
js-chat-error-empty-message = ¡Escribe algo primero!
js-chat-error-rate-limited = Más despacio: podrás enviar otra vez en unos segundos.
js-chat-error-muted = Tu profe ha pausado tus mensajes durante un ratito.
js-chat-error-session-closed = El chat está cerrado ahora. Espera a tu profe.
js-chat-error-unauthorized = Tienes que entrar en tu grupo otra vez.
js-chat-error-internal = Algo ha salido mal por nuestra parte. Lo volveremos a intentar.
js-chat-send-again-in = Más despacio: podrás enviar otra vez en { $seconds ->
    [one] un segundo.
   *[other] { $seconds } segundos.
}
js-chat-ai-helper = Ayudante IA
js-chat-teacher = Profe
js-chat-someone = Alguien
js-chat-you = { $name } (tú)
js-chat-says = { $name } dice: { $text }
js-chat-says-badge = { $name } ({ $badge }) dice: { $text }
js-chat-status-queued = esperando la conexión…
js-chat-status-sending = enviando…
js-chat-status-waiting = un momento…
js-chat-status-not-saved = aún no se ha guardado, lo seguimos intentando…
js-chat-online = ({ $count } en línea)
js-chat-typing-one = { $name } está escribiendo…
js-chat-typing-two = { $first } y { $second } están escribiendo…
js-chat-typing-many = { $count } amigos están escribiendo…
js-chat-thinking = { $name } está pensando…
js-chat-now = Ahora: { $phase }. { $goal }
js-chat-ended = Este chat ha terminado. ¡Gracias!
js-chat-paused-moment = Una pausa cortita
js-chat-waiting-start = Esperando a que tu profe empiece
js-chat-work-together = ¡Vamos a trabajar juntos!
js-chat-say-hello = ¡Ya puedes saludar!
js-chat-part = Parte { $index } de { $count }
js-chat-phase-paused = { $phase } (en pausa)
js-chat-time-left = quedan { $time }
js-chat-time-up = ¡Se acabó el tiempo!
js-chat-not-known = Este chat ya no te reconoce. Entra en tu grupo otra vez.
js-chat-join-again = Entrar otra vez
js-chat-reconnecting = Volviendo a conectar… Tus mensajes están a salvo.
js-chat-teacher-paused-chat = Tu profe ha pausado el chat un momento.
js-chat-only-you-see = Solo tú y tu profe podéis ver esto.
js-chat-muted-for = Tu profe ha pausado tus mensajes durante { $minutes ->
    [one] un minuto.
   *[other] { $minutes } minutos.
} Puedes seguir leyendo el chat.
js-chat-write-again = Ya puedes escribir otra vez.
js-chat-help-new = Tu profe sabe que necesitas ayuda. Vendrá pronto.
js-chat-help-seen = Tu profe ha visto que necesitas ayuda y vendrá a verte.
js-chat-help-dealt-with = Tu profe ya se ha ocupado de tu petición. Puedes pedir ayuda otra vez cuando lo necesites.
js-chat-help-note-too-long = Tu nota es un poco larga: usa menos de { $max } letras.
js-chat-help-offline = Avisaremos a tu profe en cuanto vuelva el chat.

## What the server tells a child (joining, the chat, the help button)

err-unknown-code = No hemos encontrado ningún grupo con ese código. Mira el código de tu tarjeta e inténtalo otra vez.
err-nickname-taken = Alguien de tu grupo ya usa ese apodo. Elige otro.
err-bad-avatar = Elige uno de los animales.
err-group-locked = Este grupo ya no admite a nadie más. Pregunta a tu profe.
err-group-full = Este grupo está lleno. Pregunta a tu profe en qué grupo entrar.
err-cross-site = Abre esta página desde el enlace de tu profe e inténtalo otra vez.
err-incomplete-form = Escribe el código y un apodo, y elige un animal.
err-something-wrong = Algo ha salido mal por nuestra parte. Inténtalo otra vez dentro de un momento.
err-too-many-tries = Demasiados intentos. Espera { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
} y vuelve a intentarlo.
err-nickname-empty = Escribe un apodo.
err-nickname-no-letters = Usa letras o números en tu apodo.
err-nickname-forbidden-characters = Usa solo letras, números y espacios en tu apodo.
err-nickname-too-long = Ese apodo es un poco largo. Usa como mucho { $max } letras.
err-nickname-is-the-agents = { $name } es el nombre del ayudante IA. Elige otro apodo.
err-chat-ended-page = Este chat ha terminado. ¡Gracias por participar! Para entrar en otro, escribe el código que te dé tu profe.
err-chat-ended = Este chat ha terminado. ¡Gracias por participar!
err-join-again = Entra en tu grupo otra vez desde la página de inicio.
err-too-many-tabs = Este chat está abierto en demasiadas pestañas. Cierra las demás.
err-slow-down = Más despacio, por favor.
err-will-send-again = Algo ha salido mal por nuestra parte; tu mensaje se enviará otra vez.
err-not-your-group = Este no es tu grupo.
err-message-empty = Tu mensaje está vacío.
err-muted = Tu profe ha pausado tus mensajes durante un ratito.
err-message-too-long = Tu mensaje es demasiado largo: usa menos de { $max } letras.
err-session-paused = La sesión está en pausa, así que ahora no se pueden enviar mensajes.
err-session-over = La sesión ha terminado, así que ya no se pueden enviar mensajes.
err-send-again-in = Más despacio: podrás enviar otra vez en { $seconds ->
    [one] un segundo.
   *[other] { $seconds } segundos.
}
err-help-again-in = Tu profe ya sabe que necesitas ayuda. Puedes volver a pedirla en { $seconds ->
    [one] un segundo.
   *[other] { $seconds } segundos.
}
err-help-note-too-long = Tu nota es un poco larga: usa menos de { $max } letras.
err-help-session-over = La sesión ha terminado, así que tu profe no recibirá esto aquí. Pídeselo en persona.
err-help-not-sent = Algo ha salido mal por nuestra parte y no hemos podido avisar a tu profe. Inténtalo otra vez.

## The facilitator's pages

dash-brand = PeerLearn · Docente
dash-title-suffix = PeerLearn docente
dash-signed-in-as = Sesión iniciada como { $name }
dash-all-sessions = Todas las sesiones
dash-sign-out = Cerrar sesión
dash-cancel = Cancelar

dash-login-page-title = Iniciar sesión · PeerLearn docente
dash-login-title = Acceso para docentes
dash-login-name = Nombre
dash-login-password = Contraseña
dash-login-button = Iniciar sesión
dash-login-hint = Las cuentas se crean en el servidor con { $command }.
dash-login-cross-site = Abra la página de inicio de sesión en este servidor e inténtelo de nuevo.
dash-login-fill-in = Escriba su nombre y su contraseña.
dash-login-throttled = Demasiados intentos fallidos. Espere { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
} e inténtelo de nuevo.
dash-login-busy = El servidor está ocupado. Inténtelo de nuevo dentro de un momento.
dash-login-wrong = El nombre y la contraseña no coinciden.
dash-something-wrong = Algo ha salido mal por nuestra parte. Inténtelo de nuevo.

dash-sessions-page-title = Sesiones · PeerLearn docente
dash-sessions-title = Sus sesiones
dash-no-sessions = Todavía no hay sesiones: cree una abajo.
dash-col-activity = Actividad
dash-col-groups = Grupos
dash-col-status = Estado
dash-col-created = Creada
dash-new-session = Nueva sesión
dash-activity = Actividad
dash-groups = Número de grupos
dash-roles-legend = El papel del agente en cada grupo
dash-group-n = Grupo { $index }
dash-role-moderator = moderador
dash-role-participant = participante
dash-role-none = ninguno (grupo de control)
dash-agent-name = El nombre del agente
dash-language = Idioma
dash-agent-role = El papel del agente
dash-childrens-data = Datos de los niños
dash-kept-then-deleted = se conservan { $kept } y después se eliminan
dash-mild-words = Palabras suaves («jo», «ostras»)
dash-level-strict = estricto: retenidas para que usted las lea
dash-level-standard = normal: se muestran enmascaradas (m****a)
dash-level-relaxed = flexible: se muestran tal cual
dash-level-hint = Los datos personales siempre se ocultan al grupo, y los insultos, las amenazas y los mensajes preocupantes siempre se retienen para usted, en todos los niveles.
dash-phase-minutes = Minutos por fase (opcional, uno por fase, separados por comas)
dash-retention = Conservar los datos de los niños durante (días después del final de la sesión)
dash-create = Crear sesión
dash-form-groups = El número de grupos debe estar entre 1 y { $max }.
dash-form-role = Grupo { $index }: el papel del agente debe ser moderador, participante o ninguno.
dash-form-retention = Conserve los datos entre 1 y { $max } días después del final de la sesión.
dash-form-activity = Elija una actividad.
dash-form-agent-name = El nombre del agente debe tener entre 1 y { $max } caracteres.
dash-form-safety-level = Palabras suaves: elija estricto, normal o flexible.
dash-form-language = Elija el idioma de la sesión.
dash-form-phase-minutes = Minutos por fase: indique { $count } números enteros del 1 al { $max }, separados por comas (uno por fase de «{ $activity }»), o déjelo vacío para usar los de la actividad.

dash-status-created = creada
dash-status-running = en curso
dash-status-paused = en pausa
dash-status-ended = terminada

dash-session-label = sesión { $id } · agente { $agent }
dash-session-page-title = { $title } · Sesión { $id } · PeerLearn docente
dash-status = Estado:
dash-connecting = conectando…
dash-start = Empezar
dash-pause = Pausar
dash-resume = Reanudar
dash-end = Terminar
dash-end-confirm = ¿Terminar la sesión para todos los grupos? Los niños ya no podrán escribir.
dash-join-cards = Tarjetas de acceso
dash-downloads = Descargar transcripciones
dash-dl-csv = CSV (hoja de cálculo)
dash-dl-qdpx = REFI-QDA .qdpx (NVivo, ATLAS.ti, MAXQDA, QualCoder)
dash-dl-jsonl = JSON Lines
dash-dl-txt = Guion en texto plano
dash-dl-qdc = Libro de códigos .qdc
dash-dl-participation = Participación por grupo (CSV)
dash-dl-participation-speakers = Participación por niño (CSV)
dash-dl-agreement = Acuerdo entre codificadores (JSON)
dash-dl-safety = Resumen de seguridad (JSON; palabras originales de los niños, solo para usted)
dash-dl-consent = Consentimientos (CSV)
dash-delete = Eliminar…
dash-needs-you = Requiere su atención
dash-groups-label = Grupos
dash-data-title = Datos de los niños
dash-retention-text = Los datos de esta sesión se conservan { $kept } y después se eliminan.
dash-consent = Consentimiento
dash-no-consent = Todavía no hay consentimientos registrados.
dash-consent-kind = Tipo
dash-consent-given-on = Fecha
dash-consent-note-col = Nota
dash-consent-recorded-by = Registrado por
dash-consent-recorded = Registrado
dash-consent-whose = Consentimiento de
dash-consent-school = centro escolar
dash-consent-parents = familias
dash-consent-child-assent = asentimiento del niño
dash-consent-other = otro
dash-consent-note = Nota (qué se consintió, dónde están los formularios; sin nombres de niños)
dash-consent-add = Registrar consentimiento
dash-kept-ended = hasta el { $date } ({ $days ->
    [one] un día
   *[other] { $days } días
} después de terminar)
dash-kept-open = hasta { $days ->
    [one] un día
   *[other] { $days } días
} después del final de la sesión (o de su último mensaje, si nunca se termina)
dash-recorded-by-cli = línea de comandos

dash-group-page-title = { $group } · { $title } · PeerLearn docente
dash-back-to-groups = Volver a todos los grupos
dash-code-label = { $title } · código { $code }
dash-transcript = Transcripción
dash-codes = Códigos
dash-codes-hint = Aplique códigos a los mensajes de la transcripción; usted codifica como { $coder }.
dash-new-code = Código nuevo, p. ej. retoma una idea
dash-colour = Color
dash-add = Añadir
dash-import-codebook = Importar un libro de códigos (.qdc o CSV):
dash-decisions = Las decisiones del agente

dash-cards-page-title = Tarjetas de acceso · sesión { $id }
dash-cards-back = Volver a la sesión
dash-cards-print = Imprima esta página: una tarjeta por grupo.
dash-card-open = Abre { $address }
dash-card-type-code = y escribe el código
dash-card-hint = Inventa un apodo: ¡no tu nombre de verdad!

dash-delete-page-title = Eliminar la sesión { $id } · PeerLearn docente
dash-delete-title = ¿Eliminar la sesión { $id } ({ $title })?
dash-delete-body = Esto elimina para siempre todo lo que contiene la sesión: { $messages ->
    [one] { $messagesShown } mensaje
   *[other] { $messagesShown } mensajes
}, { $children ->
    [one] { $childrenShown } niño (apodo, avatar, clave de acceso)
   *[other] { $childrenShown } niños (apodos, avatares, claves de acceso)
}, el registro del agente, los avisos, el libro de códigos con { $codings ->
    [one] { $codingsShown } codificación
   *[other] { $codingsShown } codificaciones
} y { $consents ->
    [one] { $consentsShown } consentimiento
   *[other] { $consentsShown } consentimientos
}. Descargue antes lo que todavía necesite. El registro de auditoría guarda constancia de que usted la eliminó.
dash-delete-not-ended = La sesión no ha terminado (estado: { $status }): primero se terminará y todos sus niños cerrarán sesión.
dash-delete-confirm = Eliminar la sesión { $id } para siempre

js-dash-screen-redact = datos personales ocultos al grupo
js-dash-screen-hold = retenido, no se muestra al grupo
js-dash-screen-urgent = protección infantil: no se muestra al grupo
js-dash-done = Hecho.
js-dash-refused = Rechazado ({ $status }).
js-dash-unreachable = No se puede conectar con el servidor.
js-dash-agent-role = El papel del agente
js-dash-role-moderator = moderador
js-dash-role-participant = participante
js-dash-role-none = ninguno
js-dash-role-control = ninguno (grupo de control)
js-dash-next-phase = Fase siguiente
js-dash-extend = +2 min
js-dash-whisper = Susurrar
js-dash-whisper-label = Indicación para el agente (los niños nunca la ven)
js-dash-post = Publicar
js-dash-post-label = Escribir al grupo como docente
js-dash-resume-agent = Reanudar el agente
js-dash-pause-agent = Pausar el agente
js-dash-unlock = Abrir el acceso
js-dash-lock = Cerrar el acceso
js-dash-locked-title = Ningún niño nuevo puede entrar en este grupo
js-dash-lock-title = Impedir que entren niños nuevos en este grupo
js-dash-child-bar = { $name }: { $messages ->
    [one] { $messages } mensaje
   *[other] { $messages } mensajes
}, { $words ->
    [one] { $words } palabra
   *[other] { $words } palabras
}
js-dash-nobody = Todavía no ha entrado nadie
js-dash-all-phases-done = Todas las fases terminadas
js-dash-waiting-start = Esperando el inicio
js-dash-not-started = Sin empezar
js-dash-phase-left = { $index }. { $phase }: quedan { $time }
js-dash-no-agent = Sin agente (grupo de control)
js-dash-last-reply = última respuesta tras { $seconds } s
js-dash-agent-line = { $agent } ({ $role }): { $state }
js-dash-agent-paused = en pausa
js-dash-written = escrito: «{ $text }»
js-dash-hidden = oculto al grupo
js-dash-show = Mostrar
js-dash-hide = Ocultar
js-dash-remove-code = Quitar este código
js-dash-coded-by = Codificado por { $coder }
js-dash-apply-code = Aplicar un código
js-dash-add-code = + código
js-dash-delete = Eliminar
js-dash-delete-code-confirm = ¿Eliminar «{ $name }» y { $count ->
    [one] su codificación
   *[other] sus { $count } codificaciones
}?
js-dash-imported = Importado: { $created } nuevos, { $updated } actualizados.
js-dash-open-transcript = Abrir la transcripción
js-dash-recent-messages = Mensajes recientes de { $group }
js-dash-hidden-details = { $count ->
    [one] { $count } dato oculto
   *[other] { $count } datos ocultos
}
js-dash-held = { $count ->
    [one] { $count } retenido
   *[other] { $count } retenidos
}
js-dash-urgent = { $count ->
    [one] { $count } urgente
   *[other] { $count } urgentes
}
js-dash-online = { $online } de { $total } en línea
js-dash-safety = seguridad: { $list }
js-dash-children = Niños
js-dash-unmute = Devolver la palabra a { $name }
js-dash-mute = Silenciar a { $name } 5 min
js-dash-seen = VISTO
js-dash-new = NUEVO
js-dash-urgent-label = URGENTE:
js-dash-show-to-group = Mostrar al grupo
js-dash-keep-hidden = Mantener oculto
js-dash-mark-seen = Visto
js-dash-dealt-with = Resuelto
js-dash-live = en directo
js-dash-reconnecting = reconectando…
js-dash-status-created = creada
js-dash-status-running = en curso
js-dash-status-paused = en pausa
js-dash-status-ended = terminada
js-dash-activity-own = { $minutes } (los de la actividad)
