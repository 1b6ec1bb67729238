round(100.0 * sum(s.verdict = 'poor') / max(sum(s.verdict in ('good', 'fair', 'poor')), 1), 1)
