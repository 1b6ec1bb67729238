"""The package layout; everything else is in pyproject.toml.

Two top-level packages: `meetq` (etl/meetq: the collector, the CLI, every provider) and
`meetq_viewer` (viewer/: the whole viewer, its configuration, SQL, plugins and the code that
starts it). Found, not listed, so a new provider folder needs no line here.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages("etl") + ["meetq_viewer", "meetq_viewer.plugins"],
    package_dir={"": "etl", "meetq_viewer": "viewer"},
    package_data={"meetq_viewer": ["metadata.yml", "sql/*/*.sql", "templates/*.html", "static/*"]},
)
