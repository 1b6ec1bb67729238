-- A rated session: one with a verdict (unrated ones had too little data to judge). Written once,
-- as the collector's RATED (verdicts.py): every poor % here is poor ÷ this.
verdict in ('good', 'fair', 'poor')
