"""The ledger takes over participation (from activities) and learning hours, certificates and their rule
(from courses) with their tables and rows as they are (docs/decisions/0010). On a new database the
tables are created by the activities and courses migrations this one follows."""

import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('activities', '0005_participation_by_source'),
        ('courses', '0004_learninghours_drop_kind'),
        ('org', '0002_grade_year_signed'),
        ('people', '0003_student_no_encrypted'),
        ('periods', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay (db_table kept): only Django's idea of which app owns them changes.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='PeriodRollup',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('built_at', models.DateTimeField(auto_now_add=True)),
                        ('period', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='periods.period')),
                    ],
                    options={
                        'verbose_name': '周期汇总标记',
                        'verbose_name_plural': '周期汇总标记',
                        'db_table': 'activities_periodrollup',
                    },
                ),
                migrations.CreateModel(
                    name='Certificate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('hours', models.DecimalField(decimal_places=1, max_digits=5)),
                        ('threshold', models.DecimalField(decimal_places=1, max_digits=4)),
                        ('serial', models.CharField(max_length=32, unique=True)),
                        ('issued_at', models.DateTimeField(auto_now_add=True)),
                        ('district', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                        ('guardian', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='certificates', to='people.guardian')),
                        ('period', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='periods.period')),
                    ],
                    options={
                        'verbose_name': '结业证书',
                        'verbose_name_plural': '结业证书',
                        'db_table': 'courses_certificate',
                        'constraints': [models.UniqueConstraint(fields=('guardian', 'period'), name='certificate_once_per_period')],
                    },
                ),
                migrations.CreateModel(
                    name='FamilyPeriod',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(max_length=10)),
                        ('district', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                        ('period', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='periods.period')),
                        ('student', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='people.student')),
                    ],
                    options={
                        'verbose_name': '周期参与汇总',
                        'verbose_name_plural': '周期参与汇总',
                        'db_table': 'activities_familyperiod',
                        'constraints': [models.UniqueConstraint(fields=('period', 'student', 'source'), name='family_period_once')],
                    },
                ),
                migrations.CreateModel(
                    name='LearningHours',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source_key', models.CharField(max_length=40)),
                        ('hours', models.DecimalField(decimal_places=1, max_digits=4, verbose_name='学时')),
                        ('earned_on', models.DateField(verbose_name='日期')),
                        ('title', models.CharField(max_length=160, verbose_name='内容')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('district', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                        ('guardian', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='learning_hours', to='people.guardian')),
                        ('school', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                    ],
                    options={
                        'verbose_name': '学时记录',
                        'verbose_name_plural': '学时记录',
                        'db_table': 'courses_learninghours',
                        'ordering': ['-earned_on', '-id'],
                        'indexes': [models.Index(fields=['guardian', 'earned_on'], name='learning_hours_guardian_idx')],
                        'constraints': [models.UniqueConstraint(fields=('guardian', 'source_key'), name='learning_hours_once_per_source'), models.CheckConstraint(condition=models.Q(('hours__gt', 0)), name='learning_hours_positive')],
                    },
                ),
                migrations.CreateModel(
                    name='Participation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('class_path', models.CharField(max_length=255)),
                        ('day', models.DateField()),
                        ('source', models.CharField(max_length=10)),
                        ('source_key', models.CharField(max_length=40)),
                        ('kind', models.CharField(blank=True, max_length=24)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('district', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                        ('school', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                        ('school_class', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.orgunit')),
                        ('student', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='participations', to='people.student')),
                    ],
                    options={
                        'verbose_name': '家庭参与记录',
                        'verbose_name_plural': '家庭参与记录',
                        'db_table': 'activities_participation',
                        'indexes': [models.Index(fields=['district', 'day', 'school_class', 'student'], name='participation_cover_idx'), models.Index(fields=['class_path', 'day'], name='participation_path_idx', opclasses=['varchar_pattern_ops', 'date_ops'])],
                        'constraints': [models.UniqueConstraint(fields=('source_key', 'student'), name='participation_once_per_source')],
                    },
                ),
                migrations.CreateModel(
                    name='SchoolSetting',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('hours_target', models.DecimalField(decimal_places=1, default=Decimal('8'), max_digits=4, verbose_name='每学期学时要求')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('school', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='parent_school_setting', to='org.orgunit')),
                    ],
                    options={
                        'verbose_name': '家长学校设置',
                        'verbose_name_plural': '家长学校设置',
                        'db_table': 'courses_schoolsetting',
                        'constraints': [models.CheckConstraint(condition=models.Q(('hours_target__gt', 0)), name='school_hours_target_positive')],
                    },
                ),
            ],
        ),
    ]
