"""More chat-style training lines: threats (plain and veiled), insults, identity attacks,
severe lines, and the benign look-alikes each of them is confused with.

Written for issue 14 after the held-out chat set (``evaluation/eval_chat.csv``) and in
other words and patterns: a test checks that no training line shares a run of four words
with a held-out line. :func:`more_examples` is merged into
:func:`~safestream.moderation.training.examples.train_examples`.
"""

from __future__ import annotations

from itertools import product

Example = tuple[str, frozenset[str]]


def _lab(*cats: str) -> frozenset[str]:
    return frozenset({"toxicity", *cats})


_OK: frozenset[str] = frozenset()

_THREATS = (
    "i'm going to cave your skull in", "you'll get a knife in the ribs", "i'll gut you like a fish",
    "i'll kick your teeth down your throat", "i am going to hurt you badly",
    "i'll have you beaten half to death", "i'll kill you and your dog",
    "wait till i get my hands on you", "i'll put you six feet under",
    "i'm going to shoot up your stream", "i'll bash your head against the wall",
    "we'll yank you from your car", "i'll cut you into pieces",
    "i will stab you the moment we meet", "i'll bury you in the woods", "i'll set you on fire",
    "i'm getting a gun and coming over", "you're getting your legs broken",
    "i will make sure you never walk again", "we'll wait for you at the parking lot",
    "i'll drown you in the river", "your throat is getting cut", "we'll beat you black and blue",
    "my brother will smash your skull", "i'll find your family and make them pay",
)  # fmt: skip
_VEILED = (
    "i know which bus you take every morning", "you have a lovely daughter, be a shame",
    "i'd sleep lightly tonight", "we've got people in your town",
    "you won't be streaming much longer", "i hope you like hospital food",
    "your address is going around our server", "not long now, streamer",
    "see you real soon, i know the neighbourhood", "things can happen to people like you",
    "you'd better not be alone this weekend", "i've got your ip and a car",
    "tick tock, we're on our way", "your last day is coming",
    "let's see how brave you are when i'm at your door",
    "it's a long walk home in the dark, isn't it", "you'll find out what happens to snitches",
    "careful what you say, i know your work address", "shame if your car caught fire",
    "we'll be watching your house tonight", "better say goodbye to your cat",
    "i'd keep the curtains shut tonight, just saying",
)  # fmt: skip
_INSULTS = (
    "you're a slimy little rat", "such a brain dead donkey", "go away, nobody asked you, creep",
    "you absolute waste of a streamer", "dumbest take i've ever read, you fool",
    "you look like a melted candle", "clown behaviour from a clown", "you're a sad lonely loser",
    "hey idiot, learn to read", "you're too stupid to tie your shoes",
    "your mother must be ashamed", "what a worthless piece of trash", "you spineless coward",
    "get lost you greasy troll", "you're a joke and everyone laughs at you", "your brain is rotten",
    "ugly and dumb, great combo", "you're thick as two short planks",
    "nobody could love someone as dull as you", "you simpleton", "shut your mouth, imbecile",
    "you cretin", "you're a parasite on this community", "you're a pathetic little man",
    "what a halfwit", "fat useless lump", "you are vile", "you are a disgrace to gamers",
    "dimwit streamer again", "you nitwit", "you absolute buffoon", "bald ugly rat",
    "your opinions are as worthless as you", "you smell like a sewer",
)  # fmt: skip
_INSULT_PROFANE = (
    "you dumb fuck", "piece of shit streamer", "you're a fucking moron", "shut up asshole",
    "what a prick", "you twat", "you bloody wanker", "dickhead move again", "fuck off loser",
)  # fmt: skip
_ATTACK_TEMPLATES = (
    "{g} are a plague", "{g} are all thieves", "{g} should not have rights", "{g} are inferior",
    "keep {g} away from our kids", "{g} are too dumb to be here", "no {g} allowed in this chat",
    "{g} are dirty", "{g} are a disease", "we need fewer {g} in this country", "{g} are scum",
)  # fmt: skip
_ATTACK_GROUPS = (
    "immigrants", "muslims", "jews", "black people", "gay people", "women", "mexicans",
    "trans people", "christians", "asians", "arabs", "africans", "lesbians", "gypsies", "hindus",
    "refugees", "chinese", "indians", "latinos",
)  # fmt: skip
_ATTACK_LINES = (
    "women are only good for cooking", "girls can't aim, it's biology", "being gay is a sickness",
    "islam is a religion of murderers", "the holocaust didn't go far enough",
    "go back to the jungle", "you people always steal", "trannies are mentally broken",
    "this is why women shouldn't be allowed online", "dirty immigrant, go home",
    "white power, kick the foreigners out", "jews run the banks and the media",
    "autistic people are retards",
)  # fmt: skip
_SEVERE = (
    ("please go kill yourself", ("severe_toxicity", "threat")),
    ("do everyone a favour and die", ("severe_toxicity",)),
    ("jump off a roof, loser", ("severe_toxicity", "insult")),
    ("i hope you choke and die", ("severe_toxicity", "threat")),
    ("die in a hole you fucking rat", ("severe_toxicity", "obscene", "insult")),
    ("you should be shot, you cunt", ("severe_toxicity", "obscene", "threat", "insult")),
    ("i hope your kids get cancer", ("severe_toxicity",)),
    ("neck yourself", ("severe_toxicity",)),
    ("nobody would care if you killed yourself", ("severe_toxicity",)),
    ("gas them all", ("severe_toxicity", "identity_attack", "threat")),
)
_OBSCENE = (
    "fuck me that was close", "shit happens", "this fucking controller", "holy fuck",
    "goddamn shitshow", "crap, i died again", "fucking brilliant play", "that was shit luck",
    "pissed off at this level", "the fuck was that jump", "fucking finally",
)  # fmt: skip

_GAME = (
    "kill the mage before he heals", "i murdered that boss first try",
    "we massacred the other team", "shoot the red barrels for big damage",
    "stab the guard from behind for a silent takedown", "blow up the tank with c4",
    "burn the nest to stop the spiders", "choke point is mid, hold it",
    "he one-tapped me from across the map", "headshots only this round",
    "i'll destroy you in the rematch haha", "gonna beat you next game, watch",
    "we'll crush them in the finals", "the knight executes you when the dodge fails",
    "the sniper keeps killing me", "hunt the wolves for pelts", "i got obliterated by the boss",
    "slaughter the goblins in the cave", "the dragon burned my whole village",
    "you got demolished lol", "my tower got wrecked", "kill him kill him kill him", "finish him!",
    "revive me before i bleed out", "the assassin class is broken", "stabbed through the wall, wtf",
    "shoot first ask later in this game", "i'm going to destroy my own record tonight",
    "the traps will murder you on hard mode", "we need someone to kill the boss adds",
    "i keep dying to the spike trap", "time to wreck some noobs in ranked",
    "our team got wiped in ten seconds", "headshot the zombies to save ammo",
    "drop the bomb on the objective", "he ended my whole career with that combo",
    "i'm coming for your crown in speedrunning lol", "that sniper shot killed me",
    "attack the castle from the east gate", "the virus killed all the npcs",
)  # fmt: skip
_QUOTES = (
    "someone just said 'i'll hurt you' in chat, mods?",
    "reporting a guy who threatened the streamer",
    "why would anyone write 'kill yourself' to a stranger",
    "the bad guy yells 'you will die' every fight", "saying women can't play is just wrong",
    "the article was about hate speech online", "he got banned for calling people slurs",
    "mods deleted a message threatening the streamer",
    "in the show the killer leaves a note saying 'you're next'",
    "the song says 'i shot the sheriff'", "my friend got told to die in a game and quit",
    "calling someone ugly is bullying, stop", "the movie opens with a murder",
    "people who send threats to streamers are cowards", "racism has no place in this chat",
    "being mean to new players isn't cool", "the npc says 'i will end you' and then runs away",
    "that review called the game garbage",
)  # fmt: skip
_PRIDE_TEMPLATES = ("proud to be one of the {g} in chat", "hello from the {g} community",
                    "{g} gamers represent", "love seeing {g} streamers grow")  # fmt: skip
_PRIDE_GROUPS = (
    "gay", "trans", "black", "muslim", "jewish", "latino", "asian", "deaf", "disabled", "queer",
    "immigrant", "arab", "indian", "christian", "women",
)  # fmt: skip
_PRIDE_LINES = (
    "i'm a lesbian and i love this game", "as a black gamer this means a lot",
    "my girlfriend and i are both queer gamers", "the pride skins are gorgeous",
    "my family is muslim and we watch together", "trans rights!", "i'm a woman and i main tank",
    "gay and proud, nice to meet everyone", "as a jewish viewer, happy hanukkah chat",
    "immigrant kid here, this stream helped my english", "we are here and we are queer",
    "representation matters, thanks for the disabled character",
)  # fmt: skip
_BANTER = (
    "you absolute muppet, you fell off the ledge again 😂",
    "you're trash at this game and i love you", "lol you got destroyed", "stop feeding, you donut",
    "my guy really thought he could jump that", "bro is allergic to winning today",
    "chat is roasting you and you deserve it", "you noob haha",
    "that was the worst throw i've ever seen lol", "you're so dumb sometimes lmao, love it",
    "what are you doing, you goof", "i'd never let you drive my car after that", "you silly goose",
    "streamer can't aim to save his life today lol", "clown fiesta this round haha", "get rekt lol",
    "bro plays like my grandma", "you nerd", "you're a legend you beautiful idiot",
)  # fmt: skip
_OTHER = (
    "i'm so frustrated with this update", "this game is boring honestly", "i hate when it rains",
    "the plot makes no sense", "the balance is terrible", "i'm dead tired",
    "that quest design is dumb", "killer soundtrack", "this track is sick",
    "the weather is killing me", "i'd kill for pizza", "my back is killing me",
    "the hospital visit went fine", "i just got out of surgery", "rest in peace to my old pc",
    "tax season is murder", "i'm going to crash early tonight",
)  # fmt: skip


# Third batch (round 2 of issue 14): more ways to threaten, insult and wish harm without
# the words of the first batches, and more look-alikes. Written after the first
# evaluation; see docs/moderation.md for what that means for the round-2 figures.
_VEILED_2 = (
    "you've been warned, streamer", "last warning before things get ugly",
    "this won't end well for you", "we know where you stream from",
    "your little studio is easy to find", "hope you've got good locks",
    "you'll get what's coming to you", "nobody will hear you scream",
    "someone should teach you a lesson you won't forget", "i'm outside, look out your window",
    "your family should be worried", "keep it up and see what happens to you",
    "watch your back when you leave the house", "things are going to get very painful for you",
    "pray we never cross paths", "it'd be sad if your stream ended suddenly",
    "we'll pay your mum a visit", "one of these days you'll regret opening your mouth",
    "i have friends who do this kind of thing for money", "you won't feel safe at home anymore",
)  # fmt: skip
_INSULTS_2 = (
    "you have the charisma of a wet sock", "your parents must regret having you",
    "talking to you is like talking to a brick wall", "even a bot would play better than you",
    "your face would scare a ghost", "what a brainlet", "you absolute knuckle-dragger",
    "you are a human participation trophy", "ratio, you irrelevant clown",
    "stop breathing so loud, goblin", "get off the internet you troglodyte",
    "nobody asked for your garbage opinion, loser", "your gameplay is a crime against humanity",
    "you're as sharp as a bowling ball", "you're the human version of a headache",
)  # fmt: skip
_SEVERE_2 = (
    "the world is worse with you in it", "do us all a favour and stop existing",
    "unalive yourself", "kys loser, nobody cares", "k y s", "go jump in front of a train",
    "everyone would celebrate if you died", "you should not be allowed to live",
)  # fmt: skip
_ATTACK_TEMPLATES_2 = (
    "{g} can't be trusted", "{g} belong in cages", "{g} are genetically inferior",
    "ban all {g} from streaming", "{g} are vermin",
)  # fmt: skip
_OK_2 = (
    "i'm gonna knife him in the back next round", "he just executed a perfect combo",
    "we got slaughtered lol", "our squad wiped the enemy team",
    "hide the body before the guards see",
    "my mom said you'll regret that when i bought this game lol",
    "the villain's creepy line gave me chills", "report anyone who threatens people here",
    "you're such a clown lol love it", "bro is the worst player alive 😂 gg", "you absolute walnut",
    "queer gamer squad checking in", "as a black dude this arc hits hard",
    "trans girl gamer here hi",
    "the warning sign says trespassers will be shot, classic game humour",
    "my hands are shaking after that boss", "i'll be outside your stream at 8 for the raid lol",
    "we're coming for the world record tonight", "you'll regret skipping the tutorial",
    "the dog in this game dies and i'm not ok",
)  # fmt: skip


def more_examples() -> list[Example]:
    """The second batch of training lines with their category labels."""
    out: list[Example] = []
    out += [(line, _lab("threat")) for line in _THREATS + _VEILED + _VEILED_2]
    out += [(line, _lab("insult")) for line in _INSULTS_2]
    out += [(line, _lab("severe_toxicity")) for line in _SEVERE_2]
    out += [
        (t.format(g=g), _lab("identity_attack"))
        for t, g in product(_ATTACK_TEMPLATES_2, _ATTACK_GROUPS[::2])
    ]
    out += [(line, _OK) for line in _OK_2]
    out += [(line, _lab("insult")) for line in _INSULTS]
    out += [(line, _lab("insult", "obscene")) for line in _INSULT_PROFANE]
    out += [
        (t.format(g=g), _lab("identity_attack"))
        for t, g in product(_ATTACK_TEMPLATES, _ATTACK_GROUPS)
    ]
    out += [(line, _lab("identity_attack")) for line in _ATTACK_LINES]
    out += [(line, _lab(*cats)) for line, cats in _SEVERE]
    out += [(line, _lab("obscene")) for line in _OBSCENE]
    out += [(t.format(g=g), _OK) for t, g in product(_PRIDE_TEMPLATES, _PRIDE_GROUPS)]
    out += [(line, _OK) for line in _GAME + _QUOTES + _PRIDE_LINES + _BANTER + _OTHER]
    return out
