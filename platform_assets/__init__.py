"""platform_assets: the retailer's data platform as Dagster software-defined assets."""

from platform_assets import forkserver as _forkserver

# In a process Dagster started to execute a run, start the steps' forkserver while the code loads
# (platform_assets/forkserver.py); anywhere else this does nothing.
_forkserver.start_if_run_process()
