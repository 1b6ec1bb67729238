-- The raw bodies as text, through the TEMP view raw_bodies (meetq's own connections have it; the
-- file keeps the bodies compressed). Newest first; each filter left empty keeps everything.
select id, fetched_at, account, endpoint, meeting_id, offset, status, tracking_id, error, body
from raw_bodies
where (:endpoint = '' or endpoint = :endpoint) and (:meeting_id = '' or meeting_id = :meeting_id)
order by id desc
limit 50
