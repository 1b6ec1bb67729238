-- {{ title }} per participant over the meeting, one line each in the participant's colour; the fair
-- and poor lines as rules. No rows when the meeting has none of it (a vendor that reports per-call
-- means only, a metric it does not send): the page then shows no chart for it.
with {{ chosen_meeting }}, {{ participants }}
select wall(x.ts) as ts, {{ value }} as value, {{ value }} || ' {{ unit }}' as shown, p.participant, p.colour,
  '/-/dashboards/session?session=' || p.id as href, t.kind || ' ' || t.direction as media,
  {{ fair }} as fair, {{ poor }} as poor
from participants p join media_streams t on t.session_id = p.id and t.kind in ({{ kinds }})
join media_samples x on x.stream_id = t.id
where {{ value }} is not null and t.direction = coalesce(nullif(:direction, ''), 'in')
order by ts
