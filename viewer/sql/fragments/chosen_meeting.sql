chosen as (select case
    -- Nothing asked: the latest meeting with a poor session, else the latest with any quality.
    when nullif(:meeting, '') is null then coalesce(
      (select meeting_id from media_sessions where verdict = 'poor' order by join_time desc limit 1),
      (select id from meetings where quality_passes > 0 order by start desc limit 1))
    -- An id (or the filter's "title · start · id"), else a title or join code that names exactly one
    -- meeting; none or several choose nothing, and the Meeting card says which.
    else coalesce(
      (select id from meetings where id = :meeting or :meeting like '% · ' || id),
      (select case when count(*) = 1 then min(id) end from meetings where {{ meeting_named }}))
  end as id)
