from ninja import Router

router = Router(tags=["学生与家长"])
