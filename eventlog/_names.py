"""Default run names: ``"<adjective>-<noun>-<0..1000>"``, at most 20 characters, like MLflow's.

The word lists are eventlog's own (landscape and sky words); only the shape of the name follows MLflow.
"""

from __future__ import annotations

import random

__all__ = ["generate_run_name"]

_MAX_LENGTH = 20
_ATTEMPTS = 10

_ADJECTIVES = (
    "amber", "ashen", "azure", "balmy", "boreal", "breezy", "radiant", "brisk", "cozy", "candid",
    "cheery", "chilly", "civic", "clever", "cobalt", "cosmic", "crimson", "crisp", "curly", "dusty",
    "dewy", "dreamy", "dusky", "eager", "early", "earthy", "elfin", "even", "fabled", "fancy",
    "fleet", "fluffy", "foggy", "frosty", "genial", "gilded", "glossy", "golden", "grand", "hazel",
    "hazy", "humble", "icy", "indigo", "ivory", "jade", "jaunty", "jolly", "keen", "kind",
    "lanky", "lavish", "lilac", "lively", "lucid", "lunar", "mellow", "merry", "misty", "modest",
    "mossy", "nifty", "noble", "oaken", "olive", "opal", "pastel", "peppy", "pearly", "plucky",
    "polar", "proud", "quaint", "quiet", "rapid", "rosy", "rustic", "rusty", "sandy", "scarlet",
    "serene", "shiny", "silken", "silver", "sleek", "snowy", "solar", "spry", "stellar", "sturdy",
    "sunny", "swift", "tawny", "tidal", "tranquil", "vivid", "wintry", "witty", "woolly", "zesty",
)  # fmt: skip

_NOUNS = (
    "acorn", "anchor", "arbor", "aspen", "atlas", "aurora", "basin", "beacon", "birch", "bluff",
    "boulder", "breeze", "brook", "canopy", "canyon", "cascade", "cavern", "cedar", "cinder", "cliff",
    "clover", "comet", "compass", "cove", "crater", "creek", "delta", "dune", "ember", "fern",
    "fjord", "flint", "forest", "galaxy", "geyser", "glacier", "glade", "grove", "harbor", "harvest",
    "heath", "hollow", "horizon", "island", "ivy", "jetty", "kettle", "lagoon", "lantern", "laurel",
    "ledge", "lotus", "maple", "marble", "marsh", "meadow", "mesa", "meteor", "moon", "nebula",
    "nectar", "oasis", "orbit", "orchard", "orchid", "pebble", "pine", "planet", "plateau", "pond",
    "prairie", "quartz", "quasar", "quill", "reef", "ridge", "ripple", "river", "saffron", "sapling",
    "savanna", "shore", "sierra", "spruce", "summit", "sunset", "thicket", "thistle", "thunder", "tide",
    "timber", "trail", "tundra", "valley", "vista", "voyage", "willow", "zenith", "zephyr", "harp",
)  # fmt: skip


def generate_run_name(rng: random.Random | None = None) -> str:
    """A random ``adjective-noun-number`` name of at most 20 characters.

    Like MLflow: up to ten draws are tried for one that fits, and the last draw is cut to 20 characters
    if none does (with these lists nearly every draw fits). ``rng`` makes the draw reproducible in tests.
    """
    draw = rng or random
    name = ""
    for _ in range(_ATTEMPTS):
        name = f"{draw.choice(_ADJECTIVES)}-{draw.choice(_NOUNS)}-{draw.randint(0, 1000)}"
        if len(name) <= _MAX_LENGTH:
            return name
    return name[:_MAX_LENGTH]
