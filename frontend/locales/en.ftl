# peerlearn's pages in English: the reference catalogue. Every other language has exactly
# these keys (a test checks). Keys starting with js- go to the pages' scripts as JSON.
# Children's pages (join-, chat-, err-, avatar-, js-join-, js-chat-) are read by 8 to 14 year
# olds: short sentences, everyday words, saying what to do next.

## Shared

app-name = PeerLearn
lang-menu-label = Language
lang-menu-apply = Change

## The join page

join-page-title = Join your group · PeerLearn
join-title = Hello! Let's join your group
join-welcome-back-label = Welcome back
join-welcome-back = Welcome back, { $name }!
join-go-back = Go back to my group chat
join-other-group = Or join another group with the form below.
join-code-label = Group code
join-code-hint = It is on the card from your teacher, for example { $example }.
join-nickname-label = Nickname
join-nickname-hint = Don't use your real name! Make up a fun nickname (up to { $max } letters).
join-avatar-legend = Pick your animal
join-button = Join my group
join-privacy = No account and no email needed. Your teacher can read the chat.

avatar-fox = Fox
avatar-panda = Panda
avatar-frog = Frog
avatar-lion = Lion
avatar-octopus = Octopus
avatar-owl = Owl
avatar-turtle = Turtle
avatar-bee = Bee
avatar-unicorn = Unicorn
avatar-dolphin = Dolphin
avatar-koala = Koala
avatar-penguin = Penguin
avatar-animal = Animal

js-join-need-code = Please type the group code from your card.
js-join-need-nickname = Please type a nickname. Don't use your real name!
js-join-need-animal = Please pick one of the animals.
js-join-joining = Joining…
js-join-button = Join my group

## The chat page

chat-page-title = { $group } · PeerLearn chat
chat-default-activity = Our design challenge
chat-skip = Skip to the message box
chat-you-are = You are
chat-help-button = I need help
chat-help-title = Ask your teacher for help
chat-help-private = Only your teacher will see this. Your group will not.
chat-help-note-label = Do you want to tell your teacher something? (You can leave this empty.)
chat-help-send = Tell my teacher
chat-cancel = Cancel
chat-phase-label = What we are doing now
chat-getting-ready = Getting ready…
chat-our-challenge = Our challenge
chat-reconnecting = Reconnecting… Your messages are safe.
chat-people-title = Who's here
chat-messages-title = Chat messages
chat-new-messages = New messages ↓
chat-your-message = Your message
chat-placeholder = Type your idea…
chat-send = Send
chat-composer-help = Press Enter to send. Press Shift and Enter for a new line.
chat-needs-js = This chat needs JavaScript. Please ask your teacher for help.

js-chat-error-bad-request = Oops, something went wrong. Please try again.
js-chat-error-unsupported-version = This page is out of date. Please reload it.
js-chat-error-message-too-long = That message is too long. Please use at most { $max } letters.
js-chat-error-empty-message = Type something first!
js-chat-error-rate-limited = Slow down a little: you can send again in a few seconds.
js-chat-error-muted = Your teacher paused your messages for a little while.
js-chat-error-session-closed = The chat is closed right now. Wait for your teacher.
js-chat-error-unauthorized = You need to join your group again.
js-chat-error-internal = Something went wrong on our side. We will try again.
js-chat-send-again-in = Slow down a little: you can send again in { $seconds ->
    [one] one second.
   *[other] { $seconds } seconds.
}
js-chat-ai-helper = AI helper
js-chat-teacher = Teacher
js-chat-someone = Someone
js-chat-you = { $name } (you)
js-chat-says = { $name } says: { $text }
js-chat-says-badge = { $name } ({ $badge }) says: { $text }
js-chat-status-queued = waiting for the connection…
js-chat-status-sending = sending…
js-chat-status-waiting = waiting a moment…
js-chat-status-not-saved = couldn't save yet, trying again…
js-chat-online = ({ $count } online)
js-chat-typing-one = { $name } is typing…
js-chat-typing-two = { $first } and { $second } are typing…
js-chat-typing-many = { $count } friends are typing…
js-chat-thinking = { $name } is thinking…
js-chat-now = Now: { $phase }. { $goal }
js-chat-ended = This chat has ended. Thank you!
js-chat-paused-moment = Paused for a moment
js-chat-waiting-start = Waiting for your teacher to start
js-chat-work-together = Let's work together!
js-chat-say-hello = You can already say hello!
js-chat-part = Part { $index } of { $count }
js-chat-phase-paused = { $phase } (paused)
js-chat-time-left = { $time } left
js-chat-time-up = Time is up!
js-chat-not-known = This chat does not know you any more. Please join your group again.
js-chat-join-again = Join again
js-chat-reconnecting = Reconnecting… Your messages are safe.
js-chat-teacher-paused-chat = Your teacher paused the chat for a moment.
js-chat-only-you-see = Only you and your teacher can see this.
js-chat-muted-for = Your teacher paused your messages for { $minutes ->
    [one] one minute.
   *[other] { $minutes } minutes.
} You can still read the chat.
js-chat-write-again = You can write again.
js-chat-help-new = Your teacher knows you need help. They will come to you soon.
js-chat-help-seen = Your teacher has seen that you need help and will come to you.
js-chat-help-dealt-with = Your teacher has dealt with your request. You can ask again whenever you need to.
js-chat-help-note-too-long = Your note is a bit long: please keep it under { $max } letters.
js-chat-help-offline = We will tell your teacher as soon as the chat is back.

## What the server tells a child (joining, the chat, the help button)

err-unknown-code = We couldn't find a group with that code. Check the code on your card and try again.
err-nickname-taken = Someone in your group already uses that nickname. Please pick another one.
err-bad-avatar = Please pick one of the animals.
err-group-locked = This group is closed to new members. Please ask your teacher.
err-group-full = This group is full. Please ask your teacher which group to join.
err-cross-site = Please open this page from your teacher's link and try again.
err-incomplete-form = Please fill in the code, a nickname and pick an animal.
err-something-wrong = Something went wrong on our side. Please try again in a moment.
err-too-many-tries = Too many tries. Please wait { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
} and try again.
err-nickname-empty = Please type a nickname.
err-nickname-no-letters = Please use letters or numbers in your nickname.
err-nickname-forbidden-characters = Please use only letters, numbers and spaces in your nickname.
err-nickname-too-long = That nickname is a bit long. Please use at most { $max } letters.
err-nickname-is-the-agents = { $name } is the AI helper's name. Please pick another nickname.
err-chat-ended-page = This chat has ended. Thank you for taking part! To join a new one, type the code your teacher gives you.
err-chat-ended = This chat has ended. Thank you for taking part!
err-join-again = Please join your group again from the start page.
err-too-many-tabs = This chat is open in too many tabs. Please close the others.
err-slow-down = Slow down a little, please.
err-will-send-again = Something went wrong on our side; your message will be sent again.
err-not-your-group = This is not your group.
err-message-empty = Your message is empty.
err-muted = Your teacher has paused your messages for a little while.
err-message-too-long = Your message is too long: please keep it under { $max } letters.
err-session-paused = The session is paused, so messages can't be sent right now.
err-session-over = The session is over, so messages can't be sent right now.
err-send-again-in = Slow down a little: you can send again in { $seconds ->
    [one] one second.
   *[other] { $seconds } seconds.
}
err-help-again-in = Your teacher already knows you need help. You can ask again in { $seconds ->
    [one] one second.
   *[other] { $seconds } seconds.
}
err-help-note-too-long = Your note is a bit long: please keep it under { $max } letters.
err-help-session-over = The session is over, so your teacher can't get this here. Please ask them in person.
err-help-not-sent = Something went wrong on our side and your teacher was not told. Please try again.

## The facilitator's pages

dash-brand = PeerLearn · Facilitator
dash-title-suffix = PeerLearn facilitator
dash-signed-in-as = Signed in as { $name }
dash-all-sessions = All sessions
dash-sign-out = Sign out
dash-cancel = Cancel

dash-login-page-title = Sign in · PeerLearn facilitator
dash-login-title = Facilitator sign-in
dash-login-name = Name
dash-login-password = Password
dash-login-button = Sign in
dash-login-hint = Accounts are made on the server with { $command }.
dash-login-cross-site = Please open the sign-in page on this server and try again.
dash-login-fill-in = Please fill in your name and password.
dash-login-throttled = Too many failed sign-ins. Please wait { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
} and try again.
dash-login-busy = The server is busy. Please try again in a moment.
dash-login-wrong = That name and password do not match.
dash-something-wrong = Something went wrong on our side. Please try again.

dash-sessions-page-title = Sessions · PeerLearn facilitator
dash-sessions-title = Your sessions
dash-no-sessions = No sessions yet: create one below.
dash-col-activity = Activity
dash-col-groups = Groups
dash-col-status = Status
dash-col-created = Created
dash-new-session = New session
dash-activity = Activity
dash-groups = Number of groups
dash-roles-legend = The agent's role in each group
dash-group-n = Group { $index }
dash-role-moderator = moderator
dash-role-participant = participant
dash-role-none = none (control)
dash-agent-name = The agent's name
dash-language = Language
dash-agent-role = The agent's role
dash-childrens-data = Children's data
dash-kept-then-deleted = kept { $kept }, then deleted
dash-mild-words = Mild words ("damn", "heck")
dash-level-strict = strict: held for you to read
dash-level-standard = standard: shown masked (d**n)
dash-level-relaxed = relaxed: shown as written
dash-level-hint = Personal details are always hidden from the group, and insults, threats and worrying messages are always held for you, at every level.
dash-phase-minutes = Phase minutes (optional, one per phase, comma-separated)
dash-retention = Keep the children's data for (days after the session ends)
dash-create = Create session
dash-form-groups = The number of groups must be 1 to { $max }.
dash-form-role = Group { $index }: the agent's role must be moderator, participant or none.
dash-form-retention = Keep the data for 1 to { $max } days after the session ends.
dash-form-activity = Please pick an activity.
dash-form-agent-name = The agent's name must be 1 to { $max } characters.
dash-form-safety-level = Mild words: pick strict, standard or relaxed.
dash-form-language = Please pick the session's language.
dash-form-phase-minutes = Phase minutes: give { $count } whole numbers from 1 to { $max }, separated by commas (one per phase of "{ $activity }"), or leave it empty for the activity's own.

dash-status-created = created
dash-status-running = running
dash-status-paused = paused
dash-status-ended = ended

dash-session-label = session { $id } · agent { $agent }
dash-session-page-title = { $title } · Session { $id } · PeerLearn facilitator
dash-status = Status:
dash-connecting = connecting…
dash-start = Start
dash-pause = Pause
dash-resume = Resume
dash-end = End
dash-end-confirm = End the session for every group? Children can no longer write.
dash-join-cards = Join cards
dash-downloads = Download transcripts
dash-dl-csv = CSV (spreadsheet)
dash-dl-qdpx = REFI-QDA .qdpx (NVivo, ATLAS.ti, MAXQDA, QualCoder)
dash-dl-jsonl = JSON Lines
dash-dl-txt = Plain-text script
dash-dl-qdc = Codebook .qdc
dash-dl-participation = Participation per group (CSV)
dash-dl-participation-speakers = Participation per child (CSV)
dash-dl-agreement = Inter-rater agreement (JSON)
dash-dl-safety = Safety summary (JSON; children's original words, for you only)
dash-dl-consent = Consent records (CSV)
dash-delete = Delete…
dash-needs-you = Needs you now
dash-groups-label = Groups
dash-data-title = Children's data
dash-retention-text = The data of this session is kept { $kept }, then deleted.
dash-consent = Consent
dash-no-consent = No consent recorded yet.
dash-consent-kind = Kind
dash-consent-given-on = Given on
dash-consent-note-col = Note
dash-consent-recorded-by = Recorded by
dash-consent-recorded = Recorded
dash-consent-whose = Whose consent
dash-consent-school = school
dash-consent-parents = parents
dash-consent-child-assent = child assent
dash-consent-other = other
dash-consent-note = Note (what was consented to, where the forms are; no children's names)
dash-consent-add = Record consent
dash-kept-ended = until { $date } ({ $days ->
    [one] one day
   *[other] { $days } days
} after it ended)
dash-kept-open = until { $days ->
    [one] one day
   *[other] { $days } days
} after the session ends (or after its last message, if it is never ended)
dash-recorded-by-cli = command line

dash-group-page-title = { $group } · { $title } · PeerLearn facilitator
dash-back-to-groups = Back to all groups
dash-code-label = { $title } · code { $code }
dash-transcript = Transcript
dash-codes = Codes
dash-codes-hint = Apply codes to messages in the transcript; you code as { $coder }.
dash-new-code = New code, e.g. builds on an idea
dash-colour = Colour
dash-add = Add
dash-import-codebook = Import a codebook (.qdc or CSV):
dash-decisions = The agent's decisions

dash-cards-page-title = Join cards · session { $id }
dash-cards-back = Back to the session
dash-cards-print = Print this page: one card per group.
dash-card-open = Open { $address }
dash-card-type-code = and type the code
dash-card-hint = Make up a nickname: not your real name!

dash-delete-page-title = Delete session { $id } · PeerLearn facilitator
dash-delete-title = Delete session { $id } ({ $title })?
# $messages, $children, $codings, $consents: the counts (they choose the plural);
# $messagesShown... : the same counts as the page shows them (in bold).
dash-delete-body = This deletes, for good, everything the session holds: { $messages ->
    [one] { $messagesShown } message
   *[other] { $messagesShown } messages
}, { $children ->
    [one] { $childrenShown } child (nickname, avatar, sign-in key)
   *[other] { $childrenShown } children (nicknames, avatars, sign-in keys)
}, the agent's log, notices, the codebook with { $codings ->
    [one] { $codingsShown } coding
   *[other] { $codingsShown } codings
}, and { $consents ->
    [one] { $consentsShown } consent record
   *[other] { $consentsShown } consent records
}. Download what you still need first. The audit log keeps that you deleted it.
dash-delete-not-ended = The session is { $status }: it is ended first, and every child in it is signed out.
dash-delete-confirm = Delete session { $id } for good

js-dash-screen-redact = personal details hidden from the group
js-dash-screen-hold = held back from the group
js-dash-screen-urgent = safeguarding: not shown to the group
js-dash-done = Done.
js-dash-refused = Refused ({ $status }).
js-dash-unreachable = The server could not be reached.
js-dash-agent-role = The agent's role
js-dash-role-moderator = moderator
js-dash-role-participant = participant
js-dash-role-none = none
js-dash-role-control = none (control)
js-dash-next-phase = Next phase
js-dash-extend = +2 min
js-dash-whisper = Whisper
js-dash-whisper-label = Guidance for the agent (children never see it)
js-dash-post = Post
js-dash-post-label = Write to the group as the teacher
js-dash-resume-agent = Resume agent
js-dash-pause-agent = Pause agent
js-dash-unlock = Unlock joining
js-dash-lock = Lock joining
js-dash-locked-title = New children cannot join this group
js-dash-lock-title = Stop new children joining this group
js-dash-child-bar = { $name }: { $messages ->
    [one] { $messages } message
   *[other] { $messages } messages
}, { $words ->
    [one] { $words } word
   *[other] { $words } words
}
js-dash-nobody = Nobody has joined yet
js-dash-all-phases-done = All phases done
js-dash-waiting-start = Waiting for the start
js-dash-not-started = Not started
js-dash-phase-left = { $index }. { $phase }: { $time } left
js-dash-no-agent = No agent (control group)
js-dash-last-reply = last reply after { $seconds } s
js-dash-agent-line = { $agent } ({ $role }): { $state }
js-dash-agent-paused = paused
js-dash-written = written: “{ $text }”
js-dash-hidden = hidden from the group
js-dash-show = Show
js-dash-hide = Hide
js-dash-remove-code = Remove this code
js-dash-coded-by = Coded by { $coder }
js-dash-apply-code = Apply a code
js-dash-add-code = + code
js-dash-delete = Delete
js-dash-delete-code-confirm = Delete "{ $name }" and its { $count ->
    [one] coding
   *[other] { $count } codings
}?
js-dash-imported = Imported: { $created } new, { $updated } updated.
js-dash-open-transcript = Open transcript
js-dash-recent-messages = Recent messages of { $group }
js-dash-hidden-details = { $count ->
    [one] 1 hidden detail
   *[other] { $count } hidden details
}
js-dash-held = { $count } held
js-dash-urgent = { $count } urgent
js-dash-online = { $online } of { $total } online
js-dash-safety = safety: { $list }
js-dash-children = Children
js-dash-unmute = Unmute { $name }
js-dash-mute = Mute { $name } for 5 min
js-dash-seen = SEEN
js-dash-new = NEW
js-dash-urgent-label = URGENT:
js-dash-show-to-group = Show to group
js-dash-keep-hidden = Keep hidden
js-dash-mark-seen = Seen
js-dash-dealt-with = Dealt with
js-dash-live = live
js-dash-reconnecting = reconnecting…
js-dash-status-created = created
js-dash-status-running = running
js-dash-status-paused = paused
js-dash-status-ended = ended
js-dash-activity-own = { $minutes } (the activity's own)
