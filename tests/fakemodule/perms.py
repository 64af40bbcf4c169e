from core.perms import Perm

USE = Perm("fakemodule.use", "使用测试模块", roles=("class_teacher", "school_admin"))
