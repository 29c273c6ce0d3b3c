"""The synthetic example borough (SYNTHETIC everywhere it appears) and effect injection.

See docs/example-borough.md.
"""

from triplet.example.borough import Borough, generate_borough, write_borough
from triplet.example.effect import inject_effect

__all__ = ["Borough", "generate_borough", "inject_effect", "write_borough"]
