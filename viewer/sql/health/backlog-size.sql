-- The same meetings the backlog query lists: not read yet, read in part, or due to be read again.
select count(*) as n from meetings where quality_state in ('pending', 'partial', 'recheck')
