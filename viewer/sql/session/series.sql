-- {{ title }} of this participant's streams over time, in and out; the fair and poor lines as rules.
-- No rows, and no chart, when the session has none of it (per-call means only: the streams table).
with {{ chosen_session }}
select wall(x.ts) as ts, {{ value }} as value, {{ value }} || ' {{ unit }}' as shown, t.kind || ' ' || t.direction as stream,
  {{ fair }} as fair, {{ poor }} as poor
from media_streams t join chosen_session c on c.id = t.session_id join media_samples x on x.stream_id = t.id
where {{ value }} is not null and t.kind in ({{ kinds }})
order by ts
