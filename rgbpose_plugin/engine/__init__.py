"""The trainer's parts: checkpoints, optimisation, evaluation, the stage loop."""
