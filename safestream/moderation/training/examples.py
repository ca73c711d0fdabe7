"""Hand-written chat-style examples: training lines per category and a held-out test set.

The shared Jigsaw data has one binary label (toxic or not) and long Wikipedia comments.
These lines give the MiniLM heads what Jigsaw lacks: short chat messages, and labels for
threat, insult, identity attack, obscene and severe toxicity. Gaming talk full of "kill",
"shoot" and "destroy" is deliberately benign.

``TRAIN`` is built from templates plus single lines; ``HELD_OUT`` is written separately, in
other words, and is never trained on (a test checks that no line appears in both). The
texts are offensive on purpose: a moderation model has to see what it must catch.
"""

from __future__ import annotations

from itertools import product

from safestream.moderation.training.chat_lines import more_examples

Example = tuple[str, frozenset[str]]

_T = frozenset({"toxicity", "threat"})
_I = frozenset({"toxicity", "insult"})
_A = frozenset({"toxicity", "identity_attack"})
_O = frozenset({"toxicity", "obscene"})
_OK: frozenset[str] = frozenset()


def _lab(*cats: str) -> frozenset[str]:
    return frozenset({"toxicity", *cats})


_THREAT_SUBJECTS = ("i will", "i'm going to", "im gonna", "we will", "my friends will")
_THREAT_ACTIONS = (
    "find you and beat you up", "break your legs", "come to your house", "hurt you",
    "make you regret this", "track you down", "smash your face in", "make you bleed",
    "put you in the hospital", "burn your house down", "hunt you down", "end you",
)  # fmt: skip
_THREAT_LINES = (
    "you should watch your back", "i know where you live", "sleep with one eye open",
    "you won't see it coming", "better lock your doors tonight",
    "you're dead when i find you", "say that again and see what happens",
    "your days are numbered", "i'll be waiting outside your house",
    "your family isn't safe", "one more word and you're getting hurt",
    "keep talking and you'll end up in a ditch", "i found your address, see you soon",
    "meet me after school and we'll see who's laughing", "someone is going to stab you",
)  # fmt: skip

_INSULT_HEADS = ("you are", "you're", "honestly you are", "streamer is", "this guy is")
_INSULT_TAILS = (
    "pathetic", "worthless", "a complete waste of space", "braindead", "so ugly",
    "a clown", "garbage at this game", "an embarrassment", "disgusting", "a failure",
    "a waste of oxygen", "dumb as a rock",
)  # fmt: skip
_INSULT_LINES = (
    "nobody likes you", "go cry to your mommy", "your voice is unbearable, shut up",
    "imagine being this bad", "uninstall the game, you're hopeless",
    "you have the iq of a potato", "what a loser", "shut up nerd",
    "your mom should have kept you in the basement",
)  # fmt: skip

_GROUPS = (
    "immigrants", "muslims", "jews", "black people", "gay people", "women", "mexicans",
    "trans people", "christians", "asians",
)  # fmt: skip
_ATTACKS = (
    "all {g} are animals", "{g} should go back where they came from",
    "{g} don't belong in this country", "i hate {g}", "{g} ruin everything",
    "{g} are subhuman", "get {g} out of here",
)  # fmt: skip
_GROUP_OK = (
    "i'm proud to be gay", "happy pride month everyone", "my muslim neighbour brought us food",
    "women's world cup is on tonight", "greetings from mexico", "black history month stream today",
    "jewish holidays start next week", "asian food is the best",
    "shoutout to the trans viewers, you're welcome here",
    "christians, muslims and jews all welcome here", "my wife is an immigrant from poland",
    "happy lunar new year to everyone celebrating",
)  # fmt: skip

_OBSCENE = (
    "this is fucking awesome", "holy shit that was close", "what the fuck was that",
    "fuck yeah lets go", "this game is shit", "shit shit shit", "that was a fucking miracle",
    "damn this boss is a bitch", "oh fuck i forgot to save", "bullshit hitbox",
)  # fmt: skip
_SEVERE = (
    ("kill yourself you worthless piece of shit", ("severe_toxicity", "insult", "obscene")),
    ("go die in a fire you fucking idiot", ("severe_toxicity", "insult", "obscene", "threat")),
    ("i hope you get cancer and die", ("severe_toxicity", "threat")),
    ("kys", ("severe_toxicity", "threat")),
    ("fuck you and your whole family", ("severe_toxicity", "obscene", "insult")),
    ("you stupid fucking cunt", ("severe_toxicity", "obscene", "insult")),
    ("i will fucking murder you", ("severe_toxicity", "obscene", "threat")),
    ("shut the fuck up you dumb bitch", ("severe_toxicity", "obscene", "insult")),
)
_INSULT_PROFANE = (
    "you're such an idiot", "stupid moron", "what an asshole", "you absolute dumbass",
    "shut up you idiot",
)  # fmt: skip

_BENIGN = (
    "gg", "gg wp", "hello everyone", "hi chat", "nice shot!", "what game is this?", "lol",
    "lmao", "that was insane", "first time here, love the stream",
    "can you play the new map?", "how long have you been streaming?", "what's your sens?",
    "hype!!!", "let's gooo", "pog", "good morning from germany", "brb getting food",
    "the music is too loud", "can you turn the volume up", "this boss is so hard",
    "you killed it!", "that headshot was sick", "i'm dead 😂", "this game kills me lol",
    "shoot the barrel", "beat the boss first", "he's going to destroy them in the final",
    "you got this", "nice clutch", "rip", "f in chat", "who won the last match?",
    "what's the song name?", "thanks for the raid!", "followed!", "love from brazil",
    "can we get some hype in chat", "that's a bold strategy", "play some minecraft next",
    "what's your setup?", "are you going to stream tomorrow?", "that jump scare got me",
    "bro is cracked", "this chat is wild", "i'm so bad at this game haha",
    "don't forget to hydrate", "10/10 stream", "kill the boss with fire arrows",
    "i'm going to kill this level today", "headshot him", "take him out from the ridge",
    "shoot him now!", "destroy their base before they respawn", "we're going to crush them",
    "break his shield first", "track the enemy on the minimap", "hunt the dragon at night",
    "my legs hurt from sitting all day", "watch out behind you!", "i live in canada",
    "see you tomorrow", "good night chat", "that's hilarious", "how do you craft that?",
    "what rank are you?", "the graphics are beautiful", "can you explain the rules?",
    "happy birthday!", "congrats on 1000 followers", "i love this song",
    "you are amazing at this", "you're so good", "this guy is a legend",
    "streamer is the best", "honestly you are so talented", "you are my favourite streamer",
    "thanks mods", "is the giveaway still on?", "the new patch is terrible",
    "this update ruined the game", "i hate this level", "i hate mondays",
    "that boss fight was brutal", "the ending was so sad", "lag is killing me",
)  # fmt: skip


def train_examples() -> list[Example]:
    """Every training line with its category labels (``toxicity`` for any toxic one)."""
    out: list[Example] = []
    out += [(f"{s} {a}", _T) for s, a in product(_THREAT_SUBJECTS, _THREAT_ACTIONS)]
    out += [(line, _T) for line in _THREAT_LINES]
    out += [(f"{h} {t}", _I) for h, t in product(_INSULT_HEADS, _INSULT_TAILS)]
    out += [(line, _I) for line in _INSULT_LINES]
    out += [(line, _lab("insult", "obscene")) for line in _INSULT_PROFANE]
    out += [(a.format(g=g), _A) for a, g in product(_ATTACKS, _GROUPS)]
    out += [(line, _O) for line in _OBSCENE]
    out += [(line, _lab(*cats)) for line, cats in _SEVERE]
    out += [(line, _OK) for line in _BENIGN + _GROUP_OK]
    out += more_examples()
    return out


HELD_OUT: tuple[Example, ...] = (
    # benign chat, including game violence and group mentions
    ("wow what a play", _OK), ("anyone else watching from australia?", _OK),
    ("omg the timing on that", _OK), ("how many hours do you have in this game?", _OK),
    ("he absolutely demolished the other team", _OK), ("snipe the guy on the roof", _OK),
    ("we need to kill the healer first", _OK), ("that trap murdered me lmao", _OK),
    ("can't wait for the next episode", _OK), ("my cat is watching the stream with me", _OK),
    ("the new skin looks great", _OK), ("welcome back!", _OK), ("respect for the grind", _OK),
    ("is this a speedrun?", _OK), ("proud muslim gamer here", _OK),
    ("greetings from nigeria", _OK), ("my girlfriend says hi", _OK),
    ("this level is stupidly hard", _OK), ("i'm going to beat your high score", _OK),
    ("you'll regret not picking the sword", _OK), ("ok", _OK), ("wp", _OK),
    ("hi from the netherlands", _OK), ("what keyboard is that?", _OK),
    ("thanks for the tips, they helped a lot", _OK),
    # threats without swear words
    ("i'm coming for you tonight", _T), ("you better hope we never meet in person", _T),
    ("i will make you suffer", _T), ("keep streaming while you still can", _T),
    ("i'm going to beat you until you can't walk", _T), ("people like you get hurt", _T),
    ("we know your address now", _T), ("i'll slit your throat", _T),
    # insults
    ("you are the dumbest person on this platform", _I), ("worst streamer ever, ugly too", _I),
    ("your gameplay is as pathetic as your life", _I), ("you clueless little rat", _I),
    ("absolute bozo, nobody wants you here", _I), ("go back to school, dummy", _I),
    # identity attacks
    ("muslims are all terrorists", _A), ("women can't play games, go make a sandwich", _A),
    ("gay people are disgusting", _A), ("foreigners are ruining this chat", _A),
    ("jews control everything", _A),
    # obscene / profane
    ("this shit is fucking broken", _O), ("fuck this game", _O),
    ("what a dick move", _lab("obscene", "insult")), ("holy fucking hell", _O),
    # severe
    ("go hang yourself, worthless trash", _lab("severe_toxicity", "threat", "insult")),
    ("fucking die you piece of shit", _lab("severe_toxicity", "obscene", "insult", "threat")),
)  # fmt: skip
"""Short chat lines for testing only: never trained on."""
