-- Each participant's system CPU per minute (Webex sends no times for CPU: estimated from the
-- session's first stream); no rows, and no chart, when the vendor reports none.
with {{ chosen_meeting }}, {{ participants }}
select wall(c.ts) as ts, c.system_avg_cpu as value, c.system_avg_cpu || ' %' as shown, p.participant, p.colour,
  '/-/dashboards/session?session=' || p.id as href, 'system CPU' as media,
  threshold('cpu_fair_pct') as fair, threshold('cpu_poor_pct') as poor
from participants p join cpu_samples c on c.session_id = p.id
where c.system_avg_cpu is not null and c.ts is not null
order by ts
