chosen as (select coalesce(
    (select id from meetings where id = :meeting or :meeting like '% · ' || id),
    (select meeting_id from media_sessions where verdict = 'poor' order by join_time desc limit 1),
    (select id from meetings where quality_passes > 0 order by start desc limit 1)) as id)
