-- {{ title }} of this participant's streams over time, in and out; the fair and poor lines as rules.
with {{ chosen_session }}
select wall(x.ts) as ts, {{ value }} as value, t.kind || ' ' || t.direction as stream,
  {{ fair }} as fair, {{ poor }} as poor, null as note
from media_streams t join chosen_session c on c.id = t.session_id join media_samples x on x.stream_id = t.id
where {{ value }} is not null and t.kind in ({{ kinds }})
union all select null, null, null, null, null,
  'No per-minute figures: per-call means only (streams table above)'
where not exists (select 1 from media_streams t join chosen_session c on c.id = t.session_id
                  where t.kind in ({{ kinds }}))
order by ts
