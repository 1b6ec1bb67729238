sum(s.{{ rated }}) >= cast(coalesce(nullif(:min_sessions, ''), 10) as integer)
