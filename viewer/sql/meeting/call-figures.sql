-- Per-call figures where the vendor reports no minutes (Google Meet: a mean and an extreme per
-- media and direction; Teams: its segments' averages together), one bar per participant and
-- stream; the fair and poor lines as rules. No rows, and no chart, for a meeting whose vendor
-- reports minutes (the lines above show them).
with {{ chosen_meeting }}, {{ participants }}
select p.participant, p.participant || ' · ' || m.kind || ' ' || m.direction as label, p.colour,
  m.kind || ' ' || m.direction as media, {{ value }} as value, {{ value }} || ' {{ unit }}' as shown,
  {{ peak }} || ' {{ unit }}' as peak, coalesce(p.verdict, 'unrated') as verdict,
  '/-/dashboards/session?session=' || p.id as href, {{ fair }} as fair, {{ poor }} as poor
from participants p join media_summaries m on m.session_id = p.id
where {{ value }} is not null and m.kind in ({{ kinds }}) and m.direction in ({{ directions }})
  and not exists (select 1 from media_streams t where t.session_id = p.id and t.sample_count > 0)
order by p.n, m.kind, m.direction
