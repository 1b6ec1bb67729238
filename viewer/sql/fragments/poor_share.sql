round(100.0 * sum(s.verdict = 'poor') / max(sum(s.{{ rated }}), 1), 1)
