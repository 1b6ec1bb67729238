chosen as (select id from meetings where quality_passes > 0
  [[ and (id = :meeting or :meeting like '% · ' || id) ]] order by start desc limit 1)
