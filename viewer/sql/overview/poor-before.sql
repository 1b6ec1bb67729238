with {{ period }}
select coalesce({{ poor_share }} || ' % of ' || sum(s.{{ rated }}) || ' rated', 'no sessions')
  as text
from media_sessions s
where s.join_time >= (select start from previous) and s.join_time < (select stop from previous) {{ scope_filters }}
