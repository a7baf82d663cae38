"""``python -m sim``: see ``sim.cli``."""

from sim.cli import main
from sim.inputs import exit_with

exit_with(main)
