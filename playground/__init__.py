"""worldsim-playground: video generation models as world simulators, small enough to run on a CPU."""

__version__ = "0.1.0"
