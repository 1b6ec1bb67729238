with {{ chosen_meeting }}, {{ participants }}
select wall(c.ts) as ts, c.system_avg_cpu as value, p.participant, p.colour, '/-/dashboards/session?session=' || p.id as href,
  threshold('cpu_fair_pct') as fair, threshold('cpu_poor_pct') as poor, null as note
from participants p join cpu_samples c on c.session_id = p.id
where c.system_avg_cpu is not null and c.ts is not null
union all select null, null, null, null, null, null, null, 'No CPU figures: the vendor reports none for this meeting'
where not exists (select 1 from participants p join cpu_samples c on c.session_id = p.id where c.ts is not null)
order by ts
