select count(*) as n from meetings where quality_state in ('pending', 'partial')
