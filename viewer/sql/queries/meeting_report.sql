select s.user_name, s.user_email, s.join_time, s.leave_time, s.provider, s.client_type, s.os_type,
  s.network_type, s.server_region, s.location, s.verdict, s.verdict_reason,
  a.p90_packet_loss as audio_in_peak_loss_pct, a.p90_latency as audio_in_peak_latency_ms,
  a.p90_jitter as audio_in_peak_jitter_ms, v.p10_frame_rate as video_in_low_fps,
  s.max_system_cpu
from media_sessions s
left join media_summaries a on a.session_id = s.id and a.kind = 'audio' and a.direction = 'in'
left join media_summaries v on v.session_id = s.id and v.kind = 'video' and v.direction = 'in'
where s.meeting_id = :meeting_id
order by case s.verdict when 'poor' then 0 when 'fair' then 1 else 2 end, s.user_name
