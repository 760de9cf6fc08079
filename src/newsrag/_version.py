"""newsrag's version, in its one home: at the bottom of the package, so any module may import it
(build.py and the stores write it into every manifest) without importing ``newsrag`` itself.
pyproject.toml reads it from here too (``[tool.setuptools.dynamic]``)."""

__version__ = "0.1.0"
