-- A peak is the worst tenth of the minutes, or the vendor's own maximum where it reports no
-- minutes (Meet's extreme per call, Teams' worst segment maximum).
with {{ chosen_session }}
select m.kind || ' ' || m.direction as stream, m.seconds,
  m.avg_packet_loss, coalesce(m.p90_packet_loss, m.max_packet_loss) as peak_loss,
  m.avg_latency, coalesce(m.p90_latency, m.max_latency) as peak_latency,
  m.avg_jitter, coalesce(m.p90_jitter, m.max_jitter) as peak_jitter,
  round(m.avg_bit_rate / 1000.0, 1) as avg_kbit_s, m.avg_frame_rate, m.p10_frame_rate as low_fps,
  m.min_resolution_height as min_height_px, m.verdict, h(m.reason) as reasons
from media_summaries m join chosen_session c on c.id = m.session_id
union all select 'no stream summaries', null, null, null, null, null, null, null, null, null, null, null, null, null
where not exists (select 1 from media_summaries m join chosen_session c on c.id = m.session_id)
order by stream
