with {{ chosen_meeting }}
select x.ts, x.frame_rate as value, {{ participant }} as participant
from media_sessions s join chosen on chosen.id = s.meeting_id
join media_streams t on t.session_id = s.id and t.kind = 'video'
join media_samples x on x.stream_id = t.id
where x.frame_rate is not null [[ and t.direction = :direction ]]
order by x.ts
