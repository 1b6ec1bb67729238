sum(s.verdict in ('good', 'fair', 'poor')) >= cast(coalesce(nullif(:min_sessions, ''), 10) as integer)
