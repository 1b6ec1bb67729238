-- Per-call figures where the vendor reports no minutes (Google Meet: a mean and a maximum per media
-- and direction): mean packet loss per participant and stream, the fair line for audio.
with {{ chosen_meeting }}, {{ participants }}
select p.participant, p.participant || ' · ' || m.kind || ' ' || m.direction as label, p.colour,
  m.kind || ' ' || m.direction as media, m.avg_packet_loss as mean_loss, m.max_packet_loss as max_loss,
  m.avg_jitter as mean_jitter, m.avg_latency as mean_round_trip, m.avg_frame_rate as mean_fps, m.verdict,
  '/-/dashboards/session?session=' || p.id as href, threshold('loss_fair_pct') as fair, null as note
from participants p join media_summaries m on m.session_id = p.id
where m.avg_packet_loss is not null and not exists (select 1 from media_streams t where t.session_id = p.id)
union all select null, null, null, null, null, null, null, null, null, null, null, null,
  'Per-minute figures are in the charts above: this meeting''s vendor reports them'
where not exists (select 1 from participants p where not exists (select 1 from media_streams t where t.session_id = p.id))
