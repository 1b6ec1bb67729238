-- For a link to the sessions view: the period's bounds (as stored, UTC) and the scope filters the
-- page was given, so "poor sessions" behind a figure are the sessions the figure counted.
('&joined__gte=' || q((select start from period)) || '&joined__lt=' || q((select stop from period))
 || coalesce('&account=' || nullif(q(:account), ''), '') || coalesce('&vendor=' || nullif(q(:provider), ''), '')
 || coalesce('&building=' || nullif(q(:building), ''), '') || '&_sort_desc=joined')
