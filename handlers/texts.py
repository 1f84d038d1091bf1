"""The bot's own texts (commands, errors, nudges), in every language ideabot ships."""

from __future__ import annotations

from enum import StrEnum

SUPPORTED_LANGUAGES = ("en", "nb")
FALLBACK_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål"}


class Text(StrEnum):
    """The name of each built-in text."""

    HELP = "help"
    CANCELLED = "cancelled"
    NOTHING_TO_CANCEL = "nothing_to_cancel"
    RESTARTING = "restarting"
    RESUMING = "resuming"
    UNKNOWN_FLOW_LINK = "unknown_flow_link"
    WELCOME_BACK = "welcome_back"
    NEW_IDEA_TAKEN = "new_idea_taken"
    CHOOSE_LANGUAGE = "choose_language"
    LANGUAGE_SET = "language_set"
    UNKNOWN_LANGUAGE = "unknown_language"
    UNKNOWN_COMMAND = "unknown_command"
    PRIVATE_CHATS_ONLY = "private_chats_only"
    ANSWER_IN_WORDS = "answer_in_words"
    ATTACHMENT_KEPT = "attachment_kept"
    STALE_BUTTON = "stale_button"
    MOVING_ON = "moving_on"
    SKIPPED = "skipped"
    CANNOT_SKIP = "cannot_skip"
    SKIP_BUTTON = "skip_button"
    RETRY_TEXT = "retry_text"
    RETRY_CHOICE = "retry_choice"
    RETRY_YES_NO = "retry_yes_no"
    RETRY_RATING = "retry_rating"
    RETRY_EMAIL = "retry_email"
    YES = "yes"
    NO = "no"
    EDIT_APPLIED = "edit_applied"
    EDIT_KEPT = "edit_kept"
    EDIT_NOT_APPLIED = "edit_not_applied"
    EMPTY_MESSAGE = "empty_message"
    HANDED_OFF = "handed_off"
    HUMAN_REQUESTED = "human_requested"
    ALREADY_WITH_STAFF = "already_with_staff"
    NO_STAFF = "no_staff"
    CONVERSATION_CLOSED = "conversation_closed"
    NO_QUESTION_NOW = "no_question_now"
    FILE_TOO_LARGE = "file_too_large"
    STAFF_FILE_TOO_LARGE = "staff_file_too_large"
    IDEA_UNDER_REVIEW = "idea_under_review"
    IDEA_PLANNED = "idea_planned"
    IDEA_IN_PROGRESS = "idea_in_progress"
    IDEA_DONE = "idea_done"
    IDEA_DECLINED = "idea_declined"
    IDEA_DUPLICATE = "idea_duplicate"
    IDEA_NEW = "idea_new"
    IDEA_UPDATE_FROM_TEAM = "idea_update_from_team"
    HOW_TO_STOP_UPDATES = "how_to_stop_updates"
    UNSUBSCRIBED = "unsubscribed"
    SUBSCRIBED = "subscribed"
    REMINDER = "reminder"
    SAME_IDEA_QUESTION = "same_idea_question"
    SAME_IDEA_YES = "same_idea_yes"
    SAME_IDEA_NO = "same_idea_no"
    SAME_IDEA_JOINED = "same_idea_joined"
    PRIVACY = "privacy"
    KEPT_FOR_DAYS = "kept_for_days"
    KEPT_UNTIL_ERASED = "kept_until_erased"
    PRIVACY_NOTICE = "privacy_notice"
    MY_DATA_COMING = "my_data_coming"
    MY_DATA_TOO_SOON = "my_data_too_soon"
    FORGET_CONFIRM = "forget_confirm"
    FORGET_YES = "forget_yes"
    FORGET_NO = "forget_no"
    FORGET_KEPT = "forget_kept"
    FORGET_UNDER_WAY = "forget_under_way"
    FORGET_STALE = "forget_stale"
    FORGET_DONE = "forget_done"
    FORGET_FAILED = "forget_failed"
    INVITATION_START = "invitation_start"
    INVITATION_STOP = "invitation_stop"
    INVITATIONS_STOPPED = "invitations_stopped"
    INVITATIONS_ON = "invitations_on"
    INVITATIONS_OFF = "invitations_off"
    INVITATIONS_TURN_ON = "invitations_turn_on"
    INVITATIONS_RESUMED = "invitations_resumed"


_TEXTS: dict[Text, dict[str, str]] = {
    Text.HELP: {
        "en": (
            "I collect your ideas for our product and pass them to our team.\n"
            "/start – begin, or see the current question again\n"
            "/restart – start a new idea from the beginning\n"
            "/cancel – stop the current conversation\n"
            "/skip – skip a question that is optional\n"
            "/human – talk with a person from our team\n"
            "/unsubscribe – no news about ideas (/subscribe to undo)\n"
            "/invitations – invitations to talk: on or off\n"
            "/language – choose your language\n"
            "/privacy – what I keep about you; /mydata – a copy; /forget – erase it\n"
            "/help – this message"
        ),
        "nb": (
            "Jeg samler ideene dine til produktet vårt og gir dem videre til teamet.\n"
            "/start – begynn, eller se spørsmålet igjen\n"
            "/restart – start en ny idé fra begynnelsen\n"
            "/cancel – avslutt samtalen\n"
            "/skip – hopp over et spørsmål som er valgfritt\n"
            "/human – snakk med en person fra teamet\n"
            "/unsubscribe – ingen nyheter om ideer (/subscribe angrer)\n"
            "/invitations – invitasjoner til å prate: av eller på\n"
            "/language – velg språk\n"
            "/privacy – hva jeg tar vare på om deg; /mydata – en kopi; /forget – slett det\n"
            "/help – denne meldingen"
        ),
    },
    Text.CANCELLED: {
        "en": "All right, I've stopped here. What you told me is kept. Write any time to start again.",
        "nb": "Greit, jeg stopper her. Det du har fortalt er tatt vare på. Skriv når som helst for å begynne på nytt.",
    },
    Text.NOTHING_TO_CANCEL: {
        "en": "There is nothing to cancel. Write any time to share an idea.",
        "nb": "Det er ingenting å avbryte. Skriv når som helst for å dele en idé.",
    },
    Text.RESTARTING: {
        "en": "Let's start over.",
        "nb": "Vi begynner på nytt.",
    },
    Text.RESUMING: {
        "en": "We were in the middle of something. Here is the question again:",
        "nb": "Vi var midt i noe. Her er spørsmålet igjen:",
    },
    Text.UNKNOWN_FLOW_LINK: {
        "en": "I don't recognise the link you followed, so we'll go on with the usual questions.",
        "nb": "Jeg kjenner ikke igjen lenken du fulgte, så vi fortsetter med de vanlige spørsmålene.",
    },
    Text.WELCOME_BACK: {
        "en": "Welcome back! Let's record a new idea.",
        "nb": "Velkommen tilbake! La oss registrere en ny idé.",
    },
    Text.NEW_IDEA_TAKEN: {
        "en": "Welcome back! I've noted that as your new idea.",
        "nb": "Velkommen tilbake! Jeg har notert det som den nye ideen din.",
    },
    Text.CHOOSE_LANGUAGE: {
        "en": "Which language would you like?",
        "nb": "Hvilket språk vil du bruke?",
    },
    Text.LANGUAGE_SET: {
        "en": "I'll speak English from now on.",
        "nb": "Jeg snakker norsk fra nå av.",
    },
    Text.UNKNOWN_LANGUAGE: {
        "en": "I don't speak that language yet. I can speak: {languages}.",
        "nb": "Det språket kan jeg ikke ennå. Jeg kan: {languages}.",
    },
    Text.UNKNOWN_COMMAND: {
        "en": "I don't know that command. Type /help to see what I can do.",
        "nb": "Den kommandoen kjenner jeg ikke. Skriv /help for å se hva jeg kan.",
    },
    Text.PRIVATE_CHATS_ONLY: {
        "en": "Hi! I only talk in private chats. Please write to me directly.",
        "nb": "Hei! Jeg snakker bare i private samtaler. Skriv direkte til meg.",
    },
    Text.ANSWER_IN_WORDS: {
        "en": "Thanks! I kept that, but for this question please answer in words.",
        "nb": "Takk! Jeg tok vare på det, men på dette spørsmålet må du svare med ord.",
    },
    Text.ATTACHMENT_KEPT: {
        "en": "Got it, I've added that to your idea. Could you also describe it in words?",
        "nb": "Fått det, jeg har lagt det til ideen din. Kan du også beskrive det med ord?",
    },
    Text.STALE_BUTTON: {
        "en": "That button belongs to an earlier question. Here is the current one:",
        "nb": "Den knappen hører til et tidligere spørsmål. Her er det nåværende:",
    },
    Text.MOVING_ON: {
        "en": "I've noted your answer as you wrote it. Let's move on.",
        "nb": "Jeg har notert svaret slik du skrev det. Vi går videre.",
    },
    Text.SKIPPED: {
        "en": "Skipped.",
        "nb": "Hoppet over.",
    },
    Text.CANNOT_SKIP: {
        "en": "This question can't be skipped, but a short answer is fine.",
        "nb": "Dette spørsmålet kan ikke hoppes over, men et kort svar holder.",
    },
    Text.SKIP_BUTTON: {
        "en": "Skip",
        "nb": "Hopp over",
    },
    Text.RETRY_TEXT: {
        "en": "Please answer in a few words.",
        "nb": "Svar gjerne med noen ord.",
    },
    Text.RETRY_CHOICE: {
        "en": "Please pick one of the options (tap a button or type its number).",
        "nb": "Velg et av alternativene (trykk på en knapp eller skriv nummeret).",
    },
    Text.RETRY_YES_NO: {
        "en": "Please answer yes or no.",
        "nb": "Svar ja eller nei.",
    },
    Text.RETRY_RATING: {
        "en": "Please answer with a number from 1 to 5.",
        "nb": "Svar med et tall fra 1 til 5.",
    },
    Text.RETRY_EMAIL: {
        "en": "That doesn't look like an email address. Please try again.",
        "nb": "Det ser ikke ut som en e-postadresse. Prøv igjen.",
    },
    Text.YES: {"en": "Yes", "nb": "Ja"},
    Text.NO: {"en": "No", "nb": "Nei"},
    Text.EDIT_APPLIED: {
        "en": "I've updated your answer.",
        "nb": "Jeg har oppdatert svaret ditt.",
    },
    Text.EDIT_KEPT: {
        "en": "Your idea is already recorded, so I've kept your change next to it for our team.",
        "nb": "Ideen din er allerede registrert, så jeg har lagt endringen ved for teamet vårt.",
    },
    Text.EDIT_NOT_APPLIED: {
        "en": "I kept your earlier answer: the edited one doesn't fit that question. You can also type /restart.",
        "nb": "Jeg beholdt det forrige svaret ditt: det endrede passer ikke til spørsmålet. Du kan også skrive /restart.",
    },
    Text.EMPTY_MESSAGE: {
        "en": "I didn't catch anything there. Type /help if you are stuck.",
        "nb": "Jeg fikk ikke med meg noe der. Skriv /help hvis du står fast.",
    },
    Text.HANDED_OFF: {
        "en": "I've passed this on to our team. Someone will answer you right here.",
        "nb": "Jeg har gitt dette videre til teamet vårt. Noen svarer deg her.",
    },
    Text.HUMAN_REQUESTED: {
        "en": "I've asked someone from our team to join. They'll answer right here; write anything you'd like them to know.",
        "nb": "Jeg har bedt noen fra teamet om å svare. De svarer her; skriv gjerne det du vil at de skal vite.",
    },
    Text.ALREADY_WITH_STAFF: {
        "en": "You're talking with our team; just write here. Type /restart to share a new idea.",
        "nb": "Du snakker med teamet vårt; bare skriv her. Skriv /restart for å dele en ny idé.",
    },
    Text.NO_STAFF: {
        "en": "No one from our team is reachable in this chat, but everything you write is kept and read.",
        "nb": "Ingen fra teamet kan nås i denne samtalen, men alt du skriver blir tatt vare på og lest.",
    },
    Text.CONVERSATION_CLOSED: {
        "en": "Our team has closed this conversation. Thank you! Write any time to share a new idea.",
        "nb": "Teamet vårt har avsluttet denne samtalen. Tusen takk! Skriv når som helst for å dele en ny idé.",
    },
    Text.NO_QUESTION_NOW: {
        "en": "That button belongs to an earlier question. You're talking with our team now; just write here.",
        "nb": "Den knappen hører til et tidligere spørsmål. Du snakker med teamet vårt nå; bare skriv her.",
    },
    Text.FILE_TOO_LARGE: {
        "en": "Your file “{file}” is too large to pass on ({size} MB, at most {limit} MB). Could you send a smaller one or describe it?",
        "nb": "Filen «{file}» er for stor til å sendes videre ({size} MB, høyst {limit} MB). Kan du sende en mindre eller beskrive den?",
    },
    Text.IDEA_NEW: {
        "en": "Your idea “{title}” is back on our list of new ideas.",
        "nb": "Ideen din «{title}» er tilbake på listen over nye ideer.",
    },
    Text.IDEA_UNDER_REVIEW: {
        "en": "We are looking at your idea “{title}” now.",
        "nb": "Vi ser på ideen din «{title}» nå.",
    },
    Text.IDEA_PLANNED: {
        "en": "Good news: your idea “{title}” is planned.",
        "nb": "Gode nyheter: ideen din «{title}» er planlagt.",
    },
    Text.IDEA_IN_PROGRESS: {
        "en": "We have started working on your idea “{title}”.",
        "nb": "Vi har begynt å jobbe med ideen din «{title}».",
    },
    Text.IDEA_DONE: {
        "en": "Your idea “{title}” is done! Thank you for suggesting it.",
        "nb": "Ideen din «{title}» er ferdig! Takk for at du foreslo den.",
    },
    Text.IDEA_DECLINED: {
        "en": "We have decided not to go ahead with your idea “{title}” for now. Thank you for sharing it.",
        "nb": "Vi har bestemt oss for ikke å gå videre med ideen din «{title}» nå. Takk for at du delte den.",
    },
    Text.IDEA_DUPLICATE: {
        "en": "Your idea “{title}” is the same as one we already have; we will follow it up there.",
        "nb": "Ideen din «{title}» er den samme som en vi allerede har; vi følger den opp der.",
    },
    Text.IDEA_UPDATE_FROM_TEAM: {
        "en": "News about your idea “{title}”:",
        "nb": "Nytt om ideen din «{title}»:",
    },
    Text.HOW_TO_STOP_UPDATES: {
        "en": "(Type /unsubscribe if you would rather not get news about ideas.)",
        "nb": "(Skriv /unsubscribe hvis du ikke vil ha nyheter om ideer.)",
    },
    Text.UNSUBSCRIBED: {
        "en": "Done: you will get no more news about ideas. Type /subscribe to get them again.",
        "nb": "Greit: du får ikke flere nyheter om ideer. Skriv /subscribe for å få dem igjen.",
    },
    Text.SUBSCRIBED: {
        "en": "Done: you will hear from us when ideas you gave or support move on.",
        "nb": "Greit: du hører fra oss når ideer du har gitt eller støtter kommer videre.",
    },
    Text.SAME_IDEA_QUESTION: {
        "en": "Thank you! Someone has suggested something like it already: «{title}». Is your idea the same?",
        "nb": "Takk! Noen har allerede foreslått noe lignende: «{title}». Er ideen din den samme?",
    },
    Text.SAME_IDEA_YES: {"en": "Yes, the same", "nb": "Ja, den samme"},
    Text.SAME_IDEA_NO: {"en": "No, mine is different", "nb": "Nei, min er annerledes"},
    Text.SAME_IDEA_JOINED: {
        "en": "Thank you! I've added your voice and your answers to «{title}». You will hear from us when it moves.",
        "nb": "Tusen takk! Jeg har lagt til stemmen og svarene dine på «{title}». Du hører fra oss når den kommer videre.",
    },
    Text.REMINDER: {
        "en": "Hi again! You were telling us about an idea. Would you like to finish? Here is where we were.",
        "nb": "Hei igjen! Du holdt på å fortelle oss om en idé. Vil du gjøre den ferdig? Her er hvor vi var.",
    },
    Text.STAFF_FILE_TOO_LARGE: {
        "en": "Our team sent you a file, “{file}”, that is too large for this chat ({size} MB). They have been told and will find another way.",
        "nb": "Teamet vårt sendte deg en fil, «{file}», som er for stor for denne samtalen ({size} MB). De har fått beskjed og finner en annen måte.",
    },
}

_TEXTS.update(
    {
        Text.PRIVACY: {
            "en": (
                "What I keep about you: your name and chat id on this app, your language, "
                "what you write to me and what our team writes back, the ideas you share "
                "(with your answers and any e-mail address or files you give), which "
                "ideas you said you share too, and the invitations to talk we sent you "
                "(with your answer).\n"
                "Why: so our team can understand your ideas, answer you and tell you what "
                "became of them.\n"
                "How long: {how_long}\n"
                "Who sees it: our company's staff, in our Slack workspace.\n"
                "/mydata sends you a file with all of it; /forget erases it; "
                "/invitations turns our invitations to talk off or on."
            ),
            "nb": (
                "Dette tar jeg vare på om deg: navnet ditt og chat-id-en din i denne appen, "
                "språket ditt, det du skriver til meg og det teamet vårt svarer, ideene du deler "
                "(med svarene dine og e-postadresse eller filer du gir), hvilke ideer du sa "
                "at du også ønsker deg, og invitasjonene til å prate som vi sendte deg "
                "(med svaret ditt).\n"
                "Hvorfor: så teamet vårt kan forstå ideene dine, svare deg og fortelle hva som "
                "skjedde med dem.\n"
                "Hvor lenge: {how_long}\n"
                "Hvem ser det: de ansatte i firmaet vårt, i Slack-arbeidsområdet vårt.\n"
                "/mydata sender deg en fil med alt sammen; /forget sletter det; "
                "/invitations slår invitasjonene våre til å prate av eller på."
            ),
        },
        Text.KEPT_FOR_DAYS: {
            "en": "a conversation is forgotten {days} days after it ended.",
            "nb": "en samtale glemmes {days} dager etter at den ble avsluttet.",
        },
        Text.KEPT_UNTIL_ERASED: {
            "en": "until you ask us to erase it.",
            "nb": "til du ber oss slette det.",
        },
        Text.PRIVACY_NOTICE: {
            "en": "Our privacy notice: {url}",
            "nb": "Personvernerklæringen vår: {url}",
        },
        Text.MY_DATA_COMING: {
            "en": "I'm putting together a file with everything I keep about you; it comes next.",
            "nb": "Jeg lager en fil med alt jeg tar vare på om deg; den kommer straks.",
        },
        Text.MY_DATA_TOO_SOON: {
            "en": "I sent you your data a moment ago. You can ask again in {minutes} minutes.",
            "nb": "Jeg sendte deg dataene dine nettopp. Du kan spørre igjen om {minutes} minutter.",
        },
        Text.FORGET_CONFIRM: {
            "en": (
                "Do you want me to erase everything I keep about you: your messages, answers, "
                "ideas and name? This cannot be undone. Ideas others share too stay, "
                "without your words."
            ),
            "nb": (
                "Vil du at jeg skal slette alt jeg tar vare på om deg: meldingene, svarene, "
                "ideene og navnet ditt? Dette kan ikke angres. Ideer som andre også ønsker "
                "seg, blir stående, uten dine ord."
            ),
        },
        Text.FORGET_YES: {
            "en": "Yes, erase everything",
            "nb": "Ja, slett alt",
        },
        Text.FORGET_NO: {
            "en": "No, keep it",
            "nb": "Nei, behold det",
        },
        Text.FORGET_KEPT: {
            "en": "All right, nothing was erased.",
            "nb": "Greit, ingenting ble slettet.",
        },
        Text.FORGET_UNDER_WAY: {
            "en": "Your data is already being erased; I'll tell you when it's done.",
            "nb": "Dataene dine blir allerede slettet; jeg sier fra når det er gjort.",
        },
        Text.FORGET_STALE: {
            "en": (
                "That button is from before your data was erased, so there was nothing of "
                "then left to erase. Send /forget to erase what you have written since."
            ),
            "nb": (
                "Den knappen er fra før dataene dine ble slettet, så det var ingenting igjen "
                "å slette. Send /forget for å slette det du har skrevet siden."
            ),
        },
        Text.FORGET_FAILED: {
            "en": (
                "Sorry, I could not erase your data just now. Our team has been told and "
                "will erase it for you."
            ),
            "nb": (
                "Beklager, jeg fikk ikke slettet dataene dine akkurat nå. Teamet vårt har fått "
                "beskjed og sletter dem for deg."
            ),
        },
        Text.FORGET_DONE: {
            "en": (
                "Done: everything I kept about you is erased, here and in our team's Slack. "
                "If you write again, I'll treat you as someone new."
            ),
            "nb": (
                "Ferdig: alt jeg tok vare på om deg er slettet, her og i teamets Slack. "
                "Skriver du igjen, behandler jeg deg som en ny person."
            ),
        },
        Text.INVITATION_START: {"en": "Start", "nb": "Start"},
        Text.INVITATION_STOP: {"en": "No more invitations", "nb": "Ingen flere invitasjoner"},
        Text.INVITATIONS_STOPPED: {
            "en": (
                "Done: you will get no more invitations to talk. News about your ideas still "
                "comes (/unsubscribe stops it). Write /invitations to change your mind."
            ),
            "nb": (
                "Greit: du får ikke flere invitasjoner til å prate. Nyheter om ideene dine "
                "kommer fortsatt (/unsubscribe stopper dem). Skriv /invitations hvis du "
                "ombestemmer deg."
            ),
        },
        Text.INVITATIONS_ON: {
            "en": (
                "You may get an invitation to talk with us now and then. "
                "Tap below if you would rather not."
            ),
            "nb": (
                "Du kan få en invitasjon til å prate med oss av og til. "
                "Trykk under hvis du heller vil slippe."
            ),
        },
        Text.INVITATIONS_OFF: {
            "en": "You get no invitations to talk from us now. Tap below to get them again.",
            "nb": "Du får ingen invitasjoner til å prate fra oss nå. Trykk under for å få dem igjen.",
        },
        Text.INVITATIONS_TURN_ON: {"en": "Invite me again", "nb": "Inviter meg igjen"},
        Text.INVITATIONS_RESUMED: {
            "en": (
                "Done: we may invite you to talk now and then again. "
                "Write /invitations to change your mind."
            ),
            "nb": (
                "Greit: vi kan invitere deg til å prate av og til igjen. "
                "Skriv /invitations hvis du ombestemmer deg."
            ),
        },
    }
)


def text(name: Text, language: str, **values: str) -> str:
    """A built-in text in ``language`` (English when that language has none)."""
    variants = _TEXTS[name]
    template = variants.get(language) or variants[FALLBACK_LANGUAGE]
    return template.format(**values) if values else template


COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("start", "Share an idea, or see the current question again"),
        ("restart", "Start a new idea from the beginning"),
        ("cancel", "Stop the current conversation"),
        ("skip", "Skip a question that is optional"),
        ("human", "Talk with a person from our team"),
        ("language", "Choose your language"),
        ("invitations", "Invitations to talk: on or off"),
        ("privacy", "What I keep about you"),
        ("mydata", "Get a copy of your data"),
        ("forget", "Erase your data"),
        ("help", "What I can do"),
    ],
    "nb": [
        ("start", "Del en idé, eller se spørsmålet igjen"),
        ("restart", "Start en ny idé fra begynnelsen"),
        ("cancel", "Avslutt samtalen"),
        ("skip", "Hopp over et valgfritt spørsmål"),
        ("human", "Snakk med en person fra teamet"),
        ("language", "Velg språk"),
        ("invitations", "Invitasjoner til å prate: av eller på"),
        ("privacy", "Hva jeg tar vare på om deg"),
        ("mydata", "Få en kopi av dataene dine"),
        ("forget", "Slett dataene dine"),
        ("help", "Hva jeg kan"),
    ],
}
"""The commands a platform's menu shows, with a short description per language."""
