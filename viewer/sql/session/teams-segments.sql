-- Teams reports averages and maxima per segment, not minutes: each stream of each segment as Graph
-- gave it, in the shared units, with CQD's class and what made it poor. No rows (and no chart)
-- for another vendor's session but the one that says so (an empty table breaks the page's script).
with {{ chosen_session }},
segments as (
select substr(local(t.start_time), 12, 8) as segment_start, t.label as media, t.direction,
  t.cqd_class as cqd, t.cqd_poor_due_to as poor_due_to, t.packets,
  t.avg_packet_loss as loss_pct, t.max_packet_loss as max_loss_pct, t.avg_jitter as jitter_ms,
  t.max_jitter as max_jitter_ms, t.avg_latency as round_trip_ms, t.max_latency as max_round_trip_ms,
  t.avg_frame_rate as fps, t.frame_loss_pct, t.post_fec_loss as loss_after_fec_pct, t.codec
from teams_streams t join chosen_session c on c.id = t.session_id)
select * from segments
union all select 'no Teams segments: Graph reports segments for Teams sessions only', null, null, null, null, null,
  null, null, null, null, null, null, null, null, null, null
where not exists (select 1 from segments)
order by segment_start, media, direction
