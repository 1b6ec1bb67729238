-- {{ title }} per participant over the meeting, one line each in the participant's colour; the fair
-- and poor lines as rules. Meet reports no time series: its meetings get one row saying so.
with {{ chosen_meeting }}, {{ participants }}
select wall(x.ts) as ts, {{ value }} as value, p.participant, p.colour, '/-/dashboards/session?session=' || p.id as href,
  t.kind || ' ' || t.direction as media, {{ fair }} as fair, {{ poor }} as poor, null as note
from participants p join media_streams t on t.session_id = p.id and t.kind in ({{ kinds }})
join media_samples x on x.stream_id = t.id
where {{ value }} is not null and t.direction = coalesce(nullif(:direction, ''), 'in')
union all select null, null, null, null, null, null, null, null,
  'No per-minute figures: ' || (select coalesce(provider, 'the vendor') from meetings where id = (select id from chosen))
  || ' reports per-call means only (bars below)'
where not exists (select 1 from participants p join media_streams t on t.session_id = p.id and t.kind in ({{ kinds }}))
order by ts
