"""Every randomization of the Dactyl paper as a composable Gymnasium wrapper.

One class per file, named after the randomization, defaults quoted from the paper's tables:

==========================  ================================  ==========================
wrapper                     file                              Dactyl source
==========================  ================================  ==========================
ObservationNoise            observation_noise.py              Table 7
PhysicsRandomization        physics_randomization.py          Table 1
ActionNoise                 action_noise.py                   Table 8
ActionDelay                 action_delay.py                   App. C.2
Backlash                    backlash.py                       App. C.2
MarkerFreeze                marker_freeze.py                  App. C.2
RandomForces                random_forces.py                  App. C.2
TimestepRandomization       timestep_randomization.py         App. C.2
VisualRandomization         visual_randomization.py           Table 9
DiscretizeActions           discretize_actions.py             §1 (11 bins)
==========================  ================================  ==========================

:class:`AutomaticDomainRandomization` (``automatic_domain_randomization.py``, Rubik's Cube paper §5) grows the
ranges of all of them from the nominal values up to the paper's, driven by the policy's performance.

:func:`dactyl_randomization` composes them all in the paper's order (``stack.py``); importing
:mod:`gym_dactyl` registers ``DactylRandomized-v0``, the same stack behind one id.
"""

from wrappers.action_delay import ActionDelay
from wrappers.action_noise import ActionNoise
from wrappers.automatic_domain_randomization import (
    CPU_ADR,
    DACTYL_ADR_PARAMETERS,
    PAPER_ADR,
    ADRConfig,
    ADRParameter,
    ADRState,
    AutomaticDomainRandomization,
)
from wrappers.backlash import Backlash
from wrappers.discretize_actions import DiscretizeActions
from wrappers.distributions import Constant, Distribution, LogUniform, Normal, Uniform
from wrappers.marker_freeze import MarkerFreeze
from wrappers.observation_noise import DACTYL_OBSERVATION_NOISE, ObservationNoise
from wrappers.physics_randomization import PhysicsRandomization
from wrappers.random_forces import RandomForces
from wrappers.stack import GROUPS, dactyl_randomization, make_dactyl_randomized
from wrappers.timestep_randomization import TimestepRandomization
from wrappers.visual_randomization import VisualRandomization

__all__ = [
    "CPU_ADR",
    "DACTYL_ADR_PARAMETERS",
    "DACTYL_OBSERVATION_NOISE",
    "PAPER_ADR",
    "ADRConfig",
    "ADRParameter",
    "ADRState",
    "AutomaticDomainRandomization",
    "GROUPS",
    "ActionDelay",
    "ActionNoise",
    "Backlash",
    "Constant",
    "DiscretizeActions",
    "Distribution",
    "LogUniform",
    "MarkerFreeze",
    "Normal",
    "ObservationNoise",
    "PhysicsRandomization",
    "RandomForces",
    "TimestepRandomization",
    "Uniform",
    "VisualRandomization",
    "dactyl_randomization",
    "make_dactyl_randomized",
]
