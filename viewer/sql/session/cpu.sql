-- The session's CPU per minute, the whole system's and the meeting client's; no rows, and no
-- chart, when the vendor reports none.
with {{ chosen_session }}
select wall(x.ts) as ts, x.value, x.value || ' %' as shown, x.what as stream, threshold('cpu_fair_pct') as fair,
  threshold('cpu_poor_pct') as poor
from (select ts, system_avg_cpu as value, 'system' as what, session_id from cpu_samples
      union all select ts, process_avg_cpu, 'meeting client', session_id from cpu_samples) x
join chosen_session c on c.id = x.session_id
where x.value is not null and x.ts is not null
order by ts
