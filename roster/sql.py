"""roster's hand-written SQL, in one place (docs/decisions/0014): the per-object audit rows of an import,
described by the database from the rows the import has just written. Contract test: tests/test_sql_contract.py."""

# One (object id, changes) per created student, as roster.importer writes them on SQLite from Python: the
# name and class, the 学籍号 and ID number only as ***. Parameter: the students' ids (bigint[]).
CREATED_STUDENTS_AUDIT = """
    SELECT s.id::text, jsonb_build_object('via', 'roster.import', 'name', s.name, 'school_class_id', s.school_class_id,
                                          'student_no', '***', 'id_number', CASE WHEN s.id_number <> '' THEN '***' ELSE '' END)
    FROM people_student s WHERE s.id = ANY(%s::bigint[])"""

# The same for created guardians: the name, the phone only as ***. Parameter: the guardians' ids (bigint[]).
CREATED_GUARDIANS_AUDIT = """
    SELECT g.id::text, jsonb_build_object('via', 'roster.import', 'name', g.name, 'phone', '***')
    FROM people_guardian g WHERE g.id = ANY(%s::bigint[])"""
