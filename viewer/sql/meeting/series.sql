-- One line per participant and stream over the meeting: {{ value }}.
with {{ chosen_meeting }}
select x.ts, {{ value }} as value, {{ participant }} as participant, t.kind || ' ' || t.direction as media
from media_sessions s join chosen on chosen.id = s.meeting_id
join media_streams t on t.session_id = s.id
join media_samples x on x.stream_id = t.id
where {{ value }} is not null [[ and t.direction = :direction ]]
order by x.ts
