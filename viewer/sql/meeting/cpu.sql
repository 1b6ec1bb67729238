with {{ chosen_meeting }}
select c.ts, c.system_avg_cpu as value, {{ participant }} as participant
from media_sessions s join chosen on chosen.id = s.meeting_id
join cpu_samples c on c.session_id = s.id
where c.system_avg_cpu is not null and c.ts is not null
order by c.ts
