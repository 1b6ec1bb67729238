select * from (select h(account) as account, h(id) as id, h(title) as title, start, h(quality_error) as quality_error,
    quality_called_at from meetings where quality_state = 'expired' order by start desc limit 100)
union all select '—', '—', 'none: every meeting was fetched in time', null, null, null
where not exists (select 1 from meetings where quality_state = 'expired')
