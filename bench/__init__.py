"""meetq's benchmarks: `make bench` (quick: checks they run) and `make bench FULL=1` (the figures
in bench/RESULTS.md). Every figure is compared with a baseline measured in the same run."""
