"""The studies shipped with the package (installed as ``eventstudy.studies``): one folder
each, its ``study.toml`` and the files it names. Their reports, results and figures are
committed here and in ../figures/, but do not travel with the package."""
