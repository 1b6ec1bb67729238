-- Grouped on verdict_metric, the machine-readable metric beside the reason in words.
select h(substr(s.verdict_reason, 1, instr(s.verdict_reason, ':') - 1)) as media,
  coalesce(s.verdict_metric, 'other') as metric, count(*) as poor_sessions
from media_sessions s where s.verdict = 'poor' {{ session_filters }}
group by media, metric order by poor_sessions desc limit 15
