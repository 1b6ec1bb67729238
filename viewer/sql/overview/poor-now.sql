with {{ period }}
select coalesce({{ poor_share }} || ' % of ' || sum(s.{{ rated }}) || ' rated', 'no sessions')
  as text
from media_sessions s where 1 {{ session_filters }}
