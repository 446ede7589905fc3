"""Code tasks: the student writes Python, graded by executing it against tests in ``teachenv.sandbox``."""
